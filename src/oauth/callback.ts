import { createHash, timingSafeEqual } from 'node:crypto'
import type { Deps } from '../deps.js'
import { consumeWaitingFlow, getFlowByState, type Flow } from '../db/oauth-flows.js'
import { insertPending } from '../db/oauth-pending.js'
import { scrubWal, type Db } from '../db/open.js'
import { enqueueOutbox, type NewOutboxMessage } from '../db/outbox.js'
import { preparedTransaction } from '../db/statements.js'
import { findProvider, providerName } from '../providers/lookup.js'
import { TOKEN_PATTERN } from './random.js'
import { flowReport } from './report.js'
import { knownAuthorizationError, sanitizeDescription } from './token-response.js'

export const MAX_CODE_LENGTH = 2048
const MAX_ISS_LENGTH = 512
/** RFC 6749 §4.1.2.1 error codes are short words; anything longer is not a provider's answer. */
const MAX_ERROR_LENGTH = 128
/** RFC 6749 §4.1.2: codes are VSCHAR (%x20-7E). */
const CODE_PATTERN = /^[\x20-\x7e]+$/

export type CallbackQuery =
  | { kind: 'code'; state: string; code: string; iss?: string }
  | { kind: 'error'; state: string; error: string; description?: string; iss?: string }

/**
 * Validates the raw query string of a callback (pure). Uses URLSearchParams, never a nested
 * parser (no `state[]=`), and rejects any repeated parameter (RFC 6749 §3.1).
 */
export function parseCallbackQuery(search: string): { ok: true; value: CallbackQuery } | { ok: false; reason: string } {
  const params = new URLSearchParams(search)
  const seen = new Set<string>()
  for (const key of params.keys()) {
    if (seen.has(key)) return { ok: false, reason: `parameter "${key.slice(0, 40)}" appears more than once` }
    seen.add(key)
  }
  const state = params.get('state')
  const code = params.get('code')
  const error = params.get('error')
  const iss = params.get('iss') ?? undefined
  if (state === null) return { ok: false, reason: '"state" is missing' }
  if (!TOKEN_PATTERN.test(state)) return { ok: false, reason: '"state" is malformed' }
  if ((code === null) === (error === null)) return { ok: false, reason: 'expected exactly one of "code" or "error"' }
  if (iss !== undefined && (iss.length > MAX_ISS_LENGTH || !iss)) return { ok: false, reason: '"iss" is malformed' }
  if (code !== null) {
    if (!code || code.length > MAX_CODE_LENGTH || !CODE_PATTERN.test(code)) return { ok: false, reason: '"code" is malformed' }
    return { ok: true, value: { kind: 'code', state, code, ...(iss !== undefined ? { iss } : {}) } }
  }
  if (!error || error.length > MAX_ERROR_LENGTH) return { ok: false, reason: '"error" is malformed' }
  const description = sanitizeDescription(params.get('error_description'))
  return {
    ok: true,
    value: {
      kind: 'error',
      state,
      error: knownAuthorizationError(error),
      ...(description ? { description } : {}),
      ...(iss !== undefined ? { iss } : {}),
    },
  }
}

/** The cookie that binds a state to the browser that opened the start link (oauth-security.md A4). */
export function stateCookieName(state: string, secure: boolean): string {
  const id = createHash('sha256').update(state).digest('hex').slice(0, 12)
  // __Host- needs Secure, Path=/ and no Domain; browsers reject it on plain http.
  return `${secure ? '__Host-' : ''}latchkey-${id}`
}

function readCookie(header: string | undefined, name: string): string | undefined {
  for (const part of (header ?? '').split(';')) {
    const eq = part.indexOf('=')
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim()
  }
  return undefined
}

function sameString(a: string, b: string): boolean {
  const x = Buffer.from(a)
  const y = Buffer.from(b)
  return x.length === y.length && timingSafeEqual(x, y)
}

/**
 * Whether `iss` may be the issuer of `authorizationUrl`: the endpoint is the issuer URL itself or
 * lies under it (an issuer is a URL prefix of its endpoints in every real deployment).
 */
export function issuerServes(iss: string, authorizationUrl: string): boolean {
  return authorizationUrl === iss || authorizationUrl.startsWith(iss.endsWith('/') ? iss : `${iss}/`) || authorizationUrl.startsWith(`${iss}?`)
}

export type CallbackResult =
  | { kind: 'rejected'; reason: 'unknown_state' | 'cookie_mismatch' | 'issuer_mismatch' }
  | { kind: 'received'; flow: Flow }
  | { kind: 'provider_error'; flow: Flow; error: string; description?: string }

/**
 * Accepts a validated callback. The checks read the flow without taking the write lock, so
 * hostile or stale callbacks never wait for writers nor make them wait; the state is then
 * consumed by a compare-and-set (still waiting, not expired) inside the same transaction that
 * stores the code, so of two identical callbacks exactly one wins (B2). Nothing is written for
 * an unknown state, a wrong cookie or a wrong issuer.
 */
export function acceptCallback(
  deps: Pick<Deps, 'db' | 'clock' | 'config'>,
  query: CallbackQuery,
  cookieHeader: string | undefined,
  secure: boolean,
): CallbackResult {
  return acceptCallbackReading(deps, query, cookieHeader, secure).result
}

/** acceptCallback, and the flow's row as read (none for an unknown state): a refusal page's wording needs it. */
export function acceptCallbackReading(
  deps: Pick<Deps, 'db' | 'clock' | 'config'>,
  query: CallbackQuery,
  cookieHeader: string | undefined,
  secure: boolean,
): { result: CallbackResult; flow: Flow | undefined } {
  const now = deps.clock.now()
  const flow = getFlowByState(deps.db, query.state)
  const refuse = (reason: 'unknown_state' | 'cookie_mismatch' | 'issuer_mismatch', seen = flow) => ({ result: { kind: 'rejected' as const, reason }, flow: seen })
  if (!flow || flow.status !== 'waiting' || flow.expiresAt <= now) return refuse('unknown_state')
  // The cookie and the issuer are checked against what the flow was created with, which never changes.
  const cookie = readCookie(cookieHeader, stateCookieName(query.state, secure))
  if (cookie === undefined || !sameString(cookie, query.state)) return refuse('cookie_mismatch')
  // RFC 9207 §2.4: simple string comparison, no normalisation; a missing iss is refused unless
  // the provider is a discovered server that does not advertise it.
  const issRequired = findProvider(deps.config, flow.provider)?.requireIss !== false
  if (flow.issuer !== null && (query.iss === undefined ? issRequired : query.iss !== flow.issuer)) return refuse('issuer_mismatch')
  // No issuer configured: an iss is still a claim about who answered. One that is not the
  // authorization endpoint's own server is a mix-up attempt (RFC 9700 §4.4).
  if (flow.issuer === null && query.iss !== undefined && !issuerServes(query.iss, flow.authorizationUrl)) return refuse('issuer_mismatch')

  // Another callback (or the expiry sweep) may have moved the flow since the read: the
  // compare-and-set decides, and the loser is answered as a late callback is.
  const lost = () => refuse('unknown_state', getFlowByState(deps.db, query.state))
  if (query.kind === 'error') {
    const status = query.error === 'access_denied' ? 'denied' : 'failed'
    const ended = { ...flow, status, error: query.error } as Flow
    const report = flowReport(ended, now, providerName(deps.config, flow.provider))
    if (!preparedTransaction(deps.db, endFlow).immediate(deps.db, query.state, now, status, query.error, report)) return lost()
    // The flow ended here: its verifier must not stay behind in old WAL frames.
    scrubWal(deps.db)
    const result: CallbackResult = { kind: 'provider_error', flow: ended, error: query.error, ...(query.description ? { description: query.description } : {}) }
    return { result, flow: ended }
  }
  if (!preparedTransaction(deps.db, storeCode).immediate(deps.db, query.state, query.code, now)) return lost()
  const received: Flow = { ...flow, status: 'exchanging', callbackAt: now }
  return { result: { kind: 'received', flow: received }, flow: received }
}

/** The state's compare-and-set and its code, committed together; false when the flow was no longer waiting. */
function storeCode(db: Db, state: string, code: string, now: number): boolean {
  if (!consumeWaitingFlow(db, state, now, { status: 'exchanging' })) return false
  insertPending(db, { state, code, receivedAt: now })
  return true
}

/** The provider's error ends the flow, and its report is queued, together; false when the flow was no longer waiting. */
function endFlow(db: Db, state: string, now: number, status: 'denied' | 'failed', error: string, report: NewOutboxMessage): boolean {
  if (!consumeWaitingFlow(db, state, now, { status, error, finished: true })) return false
  enqueueOutbox(db, report)
  return true
}

/** True when the request carries the binding cookie of `state`: the browser that opened this flow's start link. */
export function hasStateCookie(cookieHeader: string | undefined, state: string, secure: boolean): boolean {
  const cookie = readCookie(cookieHeader, stateCookieName(state, secure))
  return cookie !== undefined && sameString(cookie, state)
}
