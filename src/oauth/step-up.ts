import type { Deps } from '../deps.js'
import { getConnection } from '../db/connections.js'
import { enqueueNotice } from '../db/outbox.js'
import { offeredScopes, recordScopeOffer } from '../db/scope-offers.js'
import { providerName } from '../providers/lookup.js'

// RFC 6749 §3.3 scope-token characters; a server's list is cut short rather than trusted whole.
const SCOPE_TOKEN = /^[\x21\x23-\x5b\x5d-\x7e]{1,128}$/
const MAX_SCOPES = 32

/** The response header the proxy adds to a 403 insufficient_scope it passes on (contract: README). */
export const RECONSENT_HEADER = 'latchkey-reconsent'

/**
 * The scopes a `WWW-Authenticate: Bearer error="insufficient_scope", scope="…"` challenge asks
 * for (RFC 6750 §3.1, mcp-auth.md §1.9): undefined when the header is no such challenge, [] when
 * it names no (valid) scope.
 */
export function insufficientScope(header: string | string[] | undefined): string[] | undefined {
  const value = Array.isArray(header) ? header.join(', ') : header
  if (!value) return undefined
  const bearer = /(?:^|[\s,])Bearer\s+/i.exec(value)
  if (!bearer) return undefined
  const params = new Map<string, string>()
  const param = /\s*([A-Za-z0-9_.-]+)\s*=\s*("((?:[^"\\]|\\.)*)"|[^\s,"]*)\s*(?:,|$)/y
  param.lastIndex = bearer.index + bearer[0].length
  for (let m = param.exec(value); m && m[0] !== ''; m = param.exec(value)) {
    const key = (m[1] as string).toLowerCase()
    if (!params.has(key)) params.set(key, m[3] === undefined ? (m[2] as string) : m[3].replace(/\\(.)/g, '$1'))
  }
  if (params.get('error') !== 'insufficient_scope') return undefined
  return [...new Set((params.get('scope') ?? '').split(' ').filter((s) => SCOPE_TOKEN.test(s)))].slice(0, MAX_SCOPES)
}

/**
 * What came of a step-up: `offered` (the chat got a one-tap re-consent now), `already_offered`
 * (it did before, for this consent and set), `no_chat` (no Telegram bot to offer it in),
 * `already_granted` (the connection has every scope asked for), `not_connected`, or `no_scope`
 * (the server named none). `scopes`: the whole set a re-consent asks for, the union of
 * requested, granted and required.
 */
export type StepUp =
  | { status: 'offered' | 'already_offered' | 'no_chat'; scopes: string[]; missing: string[] }
  | { status: 'already_granted' | 'not_connected' | 'no_scope' }

const union = (...lists: readonly (readonly string[])[]): string[] => [...new Set(lists.flat())]

/**
 * Offers the user, once per connection, consent and scope set, a re-consent with the larger
 * scope set a provider asked for in a 403 insufficient_scope (seen by the proxy, or reported by
 * an agent). The chat message names the agent and the scopes, never a token.
 */
export function offerStepUp(
  deps: Pick<Deps, 'config' | 'db' | 'clock' | 'log'>,
  request: { provider: string; required: readonly string[]; agent?: string },
): StepUp {
  const { db, clock } = deps
  const required = request.required.filter((s) => SCOPE_TOKEN.test(s)).slice(0, MAX_SCOPES)
  if (!required.length) return { status: 'no_scope' }
  const connection = getConnection(db, request.provider)
  if (!connection) return { status: 'not_connected' }
  const granted = connection.grantedScopes ?? connection.requestedScopes
  const missing = required.filter((s) => !granted.includes(s))
  if (!missing.length) return { status: 'already_granted' }
  const scopes = union(connection.requestedScopes, granted, required)
  // Nothing would deliver the offer (outbox rows wait for a bot): say so rather than queue it.
  if (!deps.config.telegram.token) return { status: 'no_chat', scopes, missing }
  const now = clock.now()
  const name = providerName(deps.config, request.provider)
  const fresh = db.transaction(() => {
    if (!recordScopeOffer(db, { provider: request.provider, scopes, consentedAt: connection.consentedAt, now })) return false
    const who = request.agent ? `a request by the agent "${request.agent}"` : 'a request'
    enqueueNotice(db, {
      kind: 'scope_step_up',
      provider: request.provider,
      text:
        `🔑 ${name} refused ${who}: it needs ${missing.length === 1 ? 'the scope' : 'the scopes'} ${missing.join(', ')}, which this connection was not granted.\n\n` +
        `Approve again to allow: ${scopes.join(', ')}.`,
      createdAt: now,
    })
    return true
  })()
  deps.log.info({ provider: request.provider, missing, offered: fresh, ...(request.agent ? { agent: request.agent } : {}) }, 'insufficient_scope: re-consent with more scopes')
  return { status: fresh ? 'offered' : 'already_offered', scopes, missing }
}

/**
 * The scopes the chat's "Approve more access" asks for: what the connection requested and was
 * granted, plus every scope offered since its last consent; undefined when nothing was offered.
 */
export function stepUpScopes(db: Deps['db'], provider: string): string[] | undefined {
  const connection = getConnection(db, provider)
  if (!connection) return undefined
  const offered = offeredScopes(db, provider, connection.consentedAt)
  return offered.length ? union(connection.requestedScopes, connection.grantedScopes ?? [], offered) : undefined
}

/**
 * The scopes a plain connect or reconnect asks for: the provider's configured ones, plus those of
 * the current consent that a step-up offered and the user approved, so that reconnecting a
 * connection an agent had widened does not narrow it again. A scope of the current consent that
 * no step-up offered came from the config, and goes once the config no longer lists it.
 * Disconnecting forgets the offers, so a connection made afresh asks for the config's alone.
 */
export function scopesToRequest(db: Deps['db'], provider: string, configured: readonly string[]): string[] {
  const connection = getConnection(db, provider)
  if (!connection) return [...configured]
  const offered = new Set(offeredScopes(db, provider))
  return union(configured, connection.requestedScopes.filter((s) => offered.has(s)))
}

/** The proxy's header value for an outcome: the status, and the scope set when a re-consent is offered. */
export function reconsentHeader(outcome: StepUp): string {
  const status = outcome.status.replace(/_/g, '-')
  return 'scopes' in outcome ? `${status}; scope="${outcome.scopes.join(' ')}"` : status
}
