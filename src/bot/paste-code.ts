import { timingSafeEqual } from 'node:crypto'
import type { Deps } from '../deps.js'
import { consumeWaitingFlow, getFlowById, type Flow } from '../db/oauth-flows.js'
import { insertPending } from '../db/oauth-pending.js'
import { enqueueOutbox } from '../db/outbox.js'
import { parseCallbackQuery, type CallbackQuery } from '../oauth/callback.js'
import { flowReport } from '../oauth/report.js'
import { providerName } from '../providers/lookup.js'

/** RFC 6749 §4.1.2: a code is VSCHAR; a pasted one has no spaces. */
const PASTED_CODE = /^[\x21-\x7e]{1,2048}$/
/** Shorter than this is not a pasted code (Dexcom's are 32 characters, GitHub's 20, Google's ~70). */
const MIN_CODE_LENGTH = 8

export type PasteResult =
  | { kind: 'received'; flow: Flow }
  | { kind: 'provider_error'; flow: Flow; error: string }
  | { kind: 'rejected'; reason: 'not_a_code' | 'state_mismatch' | 'issuer_mismatch' | 'flow_gone'; detail?: string }

/**
 * Reads what the user pasted: the whole address the browser landed on (its query is checked
 * exactly like a callback's, and its state must be this flow's), or a bare code as some
 * providers show on their own page.
 */
export function parsePaste(text: string, flowState: string): { ok: true; query: CallbackQuery } | { ok: false; reason: 'not_a_code' | 'state_mismatch'; detail?: string } {
  const input = text.trim()
  if (/^https?:\/\//i.test(input) || input.includes('?')) {
    let search: string
    try {
      search = /^https?:\/\//i.test(input) ? new URL(input).search.slice(1) : input.slice(input.indexOf('?') + 1)
    } catch {
      return { ok: false, reason: 'not_a_code', detail: 'that address does not parse' }
    }
    const parsed = parseCallbackQuery(search)
    if (!parsed.ok) return { ok: false, reason: 'not_a_code', detail: parsed.reason }
    const a = Buffer.from(parsed.value.state)
    const b = Buffer.from(flowState)
    if (a.length !== b.length || !timingSafeEqual(a, b)) return { ok: false, reason: 'state_mismatch' }
    return { ok: true, query: parsed.value }
  }
  if (!PASTED_CODE.test(input)) return { ok: false, reason: 'not_a_code', detail: 'expected a code without spaces, or the whole address' }
  // "ok", "done", "thanks!", "help": a reply to the bot, not a code. Spending the flow on it would
  // only earn invalid_grant; providers' codes are longer and rarely a plain word.
  if (input.length < MIN_CODE_LENGTH || /^[A-Za-z]+[.!?]*$/.test(input))
    return { ok: false, reason: 'not_a_code', detail: `a code is one word of ${MIN_CODE_LENGTH} or more characters, usually with digits, and this looks like a reply` }
  return { ok: true, query: { kind: 'code', state: flowState, code: input } }
}

/**
 * Paste mode's counterpart of acceptCallback: the same compare-and-set on the waiting flow and
 * the same oauth_pending row, so the resolve job exchanges the code exactly as for a callback.
 *
 * There is no browser cookie to check here (A4). The cookie proves that the browser returning
 * the code is the one the start link was opened in; in paste mode the code arrives instead in
 * a private chat from a Telegram user id on the allowlist, for a flow started from that very
 * chat (the caller checks flow.chatId), so the person delivering the code is authenticated by
 * Telegram. PKCE still binds the code to the verifier that never left latchkey. A bare code
 * carries no `iss`; a pasted address that has one must match (RFC 9207).
 */
export function acceptPaste(deps: Pick<Deps, 'db' | 'clock' | 'config' | 'events'>, flowId: string, text: string): PasteResult {
  const now = deps.clock.now()
  const result = deps.db.transaction((): PasteResult => {
    const flow = getFlowById(deps.db, flowId)
    if (!flow || flow.status !== 'waiting' || flow.expiresAt <= now) return { kind: 'rejected', reason: 'flow_gone' }
    const parsed = parsePaste(text, flow.state)
    if (!parsed.ok) return { kind: 'rejected', reason: parsed.reason, ...(parsed.detail ? { detail: parsed.detail } : {}) }
    const query = parsed.query
    if (flow.issuer !== null && query.iss !== undefined && query.iss !== flow.issuer) return { kind: 'rejected', reason: 'issuer_mismatch' }
    if (query.kind === 'error') {
      const status = query.error === 'access_denied' ? 'denied' : 'failed'
      if (!consumeWaitingFlow(deps.db, flow.state, now, { status, error: query.error, finished: true })) return { kind: 'rejected', reason: 'flow_gone' }
      const ended = { ...flow, status, error: query.error } as Flow
      enqueueOutbox(deps.db, flowReport(ended, now, providerName(deps.config, flow.provider)))
      return { kind: 'provider_error', flow: ended, error: query.error }
    }
    if (!consumeWaitingFlow(deps.db, flow.state, now, { status: 'exchanging' })) return { kind: 'rejected', reason: 'flow_gone' }
    insertPending(deps.db, { state: flow.state, code: query.code, receivedAt: now })
    return { kind: 'received', flow: { ...flow, status: 'exchanging', callbackAt: now } }
  }).immediate()
  if (result.kind !== 'rejected') {
    deps.events.emit('flow-changed', result.flow.state)
    if (result.kind === 'received') deps.events.emit('callback', result.flow.state)
  }
  return result
}
