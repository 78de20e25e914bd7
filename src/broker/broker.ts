import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http'
import type { Readable } from 'node:stream'
import type { Deps } from '../deps.js'
import { isAppError } from '../errors.js'
import { DEFAULT_MIN_VALIDITY_MS, TokenSource } from '../oauth/refresh.js'
import { findProvider } from '../providers/lookup.js'
import { RECONSENT_HEADER, insufficientScope, offerStepUp, reconsentHeader } from '../oauth/step-up.js'
import { flushAudit, purgeAudit, queueAudit, type AuditRecord } from './audit.js'
import type { Caller } from './caller.js'
import type { ChatLinks } from './connect.js'
import { downstreamResponseHeaders, rewriteLocation, upstreamRequestHeaders } from './headers.js'
import { joinUpstream, normalisePath } from './path.js'
import { CallerRateLimit } from './rate-limit.js'
import { allows } from './scopes.js'
import { sendUpstream } from './upstream.js'

export type BrokerDeps = Pick<Deps, 'config' | 'db' | 'clock' | 'http' | 'log' | 'events'>

/** One request an agent wants made with a connection's token. */
export interface ProxyRequest {
  caller: Caller
  connection: string
  method: string
  /** The path after /proxy/<connection>, raw (still percent-encoded), without the query. */
  rawPath: string
  /** The raw query string without "?", or "". */
  query: string
  headers: IncomingHttpHeaders
  /** Buffered (replayable after a 401), streamed, or none. */
  body: Buffer | Readable | undefined
  /** The declared Content-Length, when there is one: over the cap, nothing is sent. */
  bodyLength?: number
}

/** A refusal by the broker itself: the `{error, message}` JSON of the contract. */
export interface BrokerRefusal {
  kind: 'refused'
  status: number
  error: string
  message: string
  /** Seconds, for 429. */
  retryAfter?: number
}

/** The provider's answer, to be streamed to the caller. */
export interface UpstreamAnswer {
  kind: 'upstream'
  status: number
  headers: OutgoingHttpHeaders
  body: Readable
}

/** What forward() gives back: the result, and `done(bytes)` to call once it is delivered (writes the audit row). */
export type Forwarded = (BrokerRefusal | UpstreamAnswer) & { done(bytes: number): void }

const refusal = (status: number, error: string, message: string, retryAfter?: number): BrokerRefusal => ({
  kind: 'refused',
  status,
  error,
  message,
  ...(retryAfter === undefined ? {} : { retryAfter }),
})

const PURGE_EVERY_MS = 60 * 60 * 1000

/**
 * The broker: every agent request, whether it came to /proxy, to an MCP tool or from the chat,
 * goes through forward(): rate limit, path normalisation, scope check, a fresh token under the
 * same lock and refresh as getAccessToken, the same-origin join, one refresh-and-retry on a 401,
 * and one audit row. No provider token ever leaves it: not in a header, an error or the audit.
 */
export class Broker {
  readonly deps: BrokerDeps
  readonly tokens: TokenSource
  readonly #limit: CallerRateLimit
  #purgedAt = 0
  /** The chat, once the bot runs: where connect links asked for by agents go. */
  chat: ChatLinks | undefined

  constructor(deps: BrokerDeps, tokens: TokenSource = new TokenSource(deps)) {
    this.deps = deps
    this.tokens = tokens
    this.#limit = new CallerRateLimit(deps.config.broker.rateLimitPerMinute)
  }

  async forward(req: ProxyRequest): Promise<Forwarded> {
    const started = this.deps.clock.now()
    const checked = normalisePath(req.rawPath || '/')
    const method = req.method.toUpperCase()
    const audit = (status: number) => (bytes: number) =>
      this.#audit({ time: started, agent: req.caller.name, connection: req.connection, method, path: checked.ok ? checked.path : '(refused path)', status, durationMs: this.deps.clock.now() - started, bytes })
    const result = await this.#forward(req, method, checked)
    return { ...result, done: audit(result.status) }
  }

  async #forward(req: ProxyRequest, method: string, checked: ReturnType<typeof normalisePath>): Promise<BrokerRefusal | UpstreamAnswer> {
    const { config } = this.deps
    const wait = this.#limit.take(req.caller.name, this.deps.clock.now())
    if (wait) return refusal(429, 'rate_limited', `more than ${config.broker.rateLimitPerMinute} requests in a minute: try again in ${wait} s`, wait)
    const provider = findProvider(config, req.connection)
    if (!provider) return refusal(404, 'unknown_connection', `no connection ${JSON.stringify(req.connection.slice(0, 60))}`)
    if (!checked.ok) return refusal(400, 'invalid_path', `the path ${checked.reason}`)
    if (!allows(req.caller.grants, req.connection, method, checked.path))
      return refusal(403, 'forbidden', `${req.caller.name} may not ${method} ${checked.path} on ${req.connection}`)
    if (!provider.apiBaseUrl)
      return refusal(409, 'no_api_base', `${provider.displayName} has no API base URL, so it cannot be proxied: set providers.${provider.providerId}.apiBaseUrl in the config`)

    const declared = req.bodyLength ?? (Buffer.isBuffer(req.body) ? req.body.length : 0)
    if (declared > config.broker.maxRequestBytes) return refusal(413, 'body_too_large', `the request body is over ${config.broker.maxRequestBytes} bytes`)

    const url = joinUpstream(provider.apiBaseUrl, checked.path, req.query)
    const headers = upstreamRequestHeaders(req.headers)
    const replayable = req.body === undefined || Buffer.isBuffer(req.body)
    let rejected: string | undefined
    for (let attempt = 0; ; attempt++) {
      let entry
      try {
        entry = await this.tokens.getEntry(provider.providerId, DEFAULT_MIN_VALIDITY_MS, rejected)
      } catch (err) {
        return tokenRefusal(err)
      }
      // A token that did not change cannot fare better: the 401 goes back to the caller.
      if (rejected !== undefined && entry.access === rejected) break
      const outcome = await sendUpstream({
        url,
        method,
        headers: { ...headers, authorization: `${tokenType(entry.tokenType)} ${entry.access}` },
        body: req.body,
        maxBodyBytes: config.broker.maxRequestBytes,
        timeoutMs: config.broker.upstreamTimeoutMs,
      })
      if (!outcome.ok) {
        this.deps.log.warn({ connection: req.connection, path: checked.path, reason: outcome.reason, detail: outcome.detail }, 'proxied request failed')
        if (outcome.reason === 'timeout') return refusal(504, 'upstream_timeout', `${provider.displayName} did not answer within ${config.broker.upstreamTimeoutMs} ms`)
        if (outcome.reason === 'body_too_large') return refusal(413, 'body_too_large', `the request body is over ${config.broker.maxRequestBytes} bytes`)
        return refusal(502, 'provider_unreachable', `${provider.displayName} is unreachable (${outcome.detail})`)
      }
      const response = outcome.response
      if (response.statusCode === 401 && attempt === 0 && replayable) {
        response.body.resume() // drain it: the connection goes back to the pool
        rejected = entry.access
        continue
      }
      const out = downstreamResponseHeaders(response.headers)
      if (response.statusCode === 403) this.#stepUp(provider.providerId, req.caller, response.headers['www-authenticate'], out)
      if (typeof out.location === 'string')
        out.location = rewriteLocation(out.location, url, new URL(provider.apiBaseUrl).pathname.replace(/\/+$/, ''), `/proxy/${req.connection}`)
      return { kind: 'upstream', status: response.statusCode, headers: out, body: response.body }
    }
    return refusal(502, 'provider_rejected_token', `${provider.displayName} rejected latchkey's token (HTTP 401) and refreshing it gave no new one`)
  }

  /**
   * A 403 insufficient_scope (RFC 6750 §3.1): the user is offered a re-consent with the larger
   * scope set in the chat, and the caller told so in the latchkey-reconsent header. Never fails the answer.
   */
  #stepUp(connection: string, caller: Caller, challenge: string | string[] | undefined, out: OutgoingHttpHeaders): void {
    const required = insufficientScope(challenge)
    if (!required) return
    try {
      out[RECONSENT_HEADER] = reconsentHeader(offerStepUp(this.deps, { provider: connection, required, ...(caller.isAgent ? { agent: caller.name } : {}) }))
    } catch (err) {
      this.deps.log.error({ connection, reason: (err as Error).message }, 'could not offer a re-consent')
    }
  }

  /** Writes the audit rows still queued: called before the database closes, so that no row is lost. */
  flushAudit(): void {
    try {
      flushAudit(this.deps.db)
    } catch (err) {
      this.#auditFailed(err)
    }
  }

  #audit(record: AuditRecord): void {
    try {
      queueAudit(this.deps.db, record, (err) => this.#auditFailed(err))
      if (record.time - this.#purgedAt >= PURGE_EVERY_MS) {
        this.#purgedAt = record.time
        purgeAudit(this.deps.db, record.time)
      }
    } catch (err) {
      this.#auditFailed(err)
    }
  }

  #auditFailed(err: unknown): void {
    this.deps.log.error({ reason: (err as Error).message }, 'audit rows not written')
  }
}

/** RFC 6750 spells it "Bearer"; some providers answer "bearer". */
function tokenType(type: string | undefined): string {
  return !type || type.toLowerCase() === 'bearer' ? 'Bearer' : type
}

/** Token errors as the contract's statuses; AppError messages are written for users and hold no secret. */
function tokenRefusal(err: unknown): BrokerRefusal {
  if (isAppError(err, 'NOT_CONNECTED')) return refusal(409, 'not_connected', err.message)
  if (isAppError(err, 'NEEDS_REAUTH')) return refusal(409, 'needs_reauth', err.message)
  if (isAppError(err, 'PROVIDER_UNREACHABLE')) return refusal(502, 'provider_unreachable', err.message)
  if (isAppError(err, 'LOCK_TIMEOUT')) return refusal(503, 'busy', err.message)
  if (isAppError(err)) return refusal(500, 'token_unavailable', err.message)
  throw err
}

