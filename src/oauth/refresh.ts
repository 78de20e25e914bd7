import type { Deps } from '../deps.js'
import {
  claimNotification,
  ensureConnection,
  getConnectionStatus,
  markNeedsReauth,
  recordRefreshFailure,
  recordRefreshSuccess,
  type Connection,
  type ConnectionStatus,
} from '../db/connections.js'
import { enqueueNotice } from '../db/outbox.js'
import { AppError, isAppError } from '../errors.js'
import { withStoredCredentials } from '../providers/credentials.js'
import { getDiscovered } from '../db/discovered.js'
import { findProvider, getProvider, providerName } from '../providers/lookup.js'
import type { Provider } from '../providers/schema.js'
import { asOAuthEntry, readAuthFile, withAuthSession, type AuthFile, type AuthSession, type OAuthEntry } from '../store/auth-json.js'
import { AuthFileReader } from '../store/auth-read-cache.js'
import { humanDuration } from '../time-format.js'
import { backoffMs, inDailyWindow, nextWindowEnd, shouldRefresh } from './refresh-policy.js'
import { buildTokenRequest } from './requests.js'
import { fetchToken } from './token-client.js'
import { parseTokenResponse, type RawResponse } from './token-response.js'

/** Callers that do not say otherwise get a token valid for at least another minute. */
export const DEFAULT_MIN_VALIDITY_MS = 60_000

export type TokenDeps = Pick<Deps, 'config' | 'db' | 'clock' | 'http' | 'log'>

/**
 * Hands out fresh access tokens for one auth file. Reads are lock-free while the token is
 * valid, from the parsed file kept in memory and revalidated by one stat per call; a refresh runs under the cross-process auth lock, re-reads the file first (another
 * process may have refreshed already: oauth-security.md D2) and is shared by every concurrent
 * caller in this process.
 */
export class TokenSource {
  readonly #deps: TokenDeps
  readonly #inflight = new Map<string, Promise<OAuthEntry>>()
  /** Providers whose odd expires_in was already reported (once per process is enough). */
  readonly #warnedOddLifetime = new Set<string>()
  readonly #reader: AuthFileReader
  /**
   * Connection statuses read for one version of auth.json (`file` is the reader's parsed copy,
   * replaced whenever the file changes). A status query costs more than the rest of a fresh-token
   * read (SQLite takes and drops a file lock per read), and the only status that stops a fresh
   * token, needs_reauth, is set under the auth lock by #reportNeedsReauth, which then rewrites
   * auth.json: every process's next stat sees a new file and asks SQLite again.
   */
  #statuses: { file: AuthFile; byProvider: Map<string, ConnectionStatus | undefined> } | undefined

  constructor(deps: TokenDeps) {
    this.#deps = deps
    this.#reader = new AuthFileReader(deps.config.authFile)
  }

  /** A token valid for at least `minValidityMs` more, refreshing if needed. */
  async getAccessToken(providerId: string, opts: { minValidityMs?: number } = {}): Promise<string> {
    return (await this.getEntry(providerId, opts.minValidityMs ?? DEFAULT_MIN_VALIDITY_MS)).access
  }

  /**
   * Like getAccessToken, but the whole auth.json entry. `rejected`: an access token the provider
   * just answered 401 to, so it counts as expired (unless another refresh has replaced it already).
   */
  async getEntry(providerId: string, minValidityMs: number, rejected?: string): Promise<OAuthEntry> {
    const provider = getProvider(this.#deps.config, providerId)
    const file = await this.#reader.read()
    const entry = asOAuthEntry(file[provider.providerId])
    if (!entry) throw notConnected(provider)
    if (this.#statusOf(file, provider.providerId) === 'needs_reauth') throw needsReauth(provider)
    if (entry.access !== rejected && !shouldRefresh(entry, this.#deps.clock.now(), minValidityMs).should) return entry
    let shared = this.#inflight.get(provider.providerId)
    if (!shared) {
      // Client credentials the user gave the bot live in SQLite: only a refresh needs them.
      shared = this.#refreshUnderLock(withStoredCredentials(this.#deps.db, provider), minValidityMs, rejected).finally(() =>
        this.#inflight.delete(provider.providerId),
      )
      this.#inflight.set(provider.providerId, shared)
    }
    return shared
  }

  /** The connection's status, asked of SQLite once per version of auth.json (see #statuses). */
  #statusOf(file: AuthFile, providerId: string): ConnectionStatus | undefined {
    if (this.#statuses?.file !== file) this.#statuses = { file, byProvider: new Map() }
    const known = this.#statuses.byProvider
    if (known.has(providerId)) return known.get(providerId)
    const status = getConnectionStatus(this.#deps.db, providerId)
    known.set(providerId, status)
    return status
  }

  #refreshUnderLock(provider: Provider, minValidityMs: number, rejected?: string): Promise<OAuthEntry> {
    const { config, db, clock, log } = this.#deps
    const id = provider.providerId
    return withAuthSession(config.authFile, async (session) => {
      const now = clock.now()
      let entry = asOAuthEntry(session.current[id])
      if (!entry) throw notConnected(provider)
      const connection = ensureConnection(db, id, now, provider.scopes)
      if (connection.status === 'needs_reauth') throw needsReauth(provider)
      // Someone refreshed while we waited for the lock: use theirs, do not spend the new refresh token.
      if (entry.access !== rejected && !shouldRefresh(entry, now, minValidityMs).should) return entry
      if (entry.refresh === undefined) {
        if (entry.expires !== undefined && entry.expires > now) return entry
        await this.#reportNeedsReauth(session, provider, now, 'no_refresh_token')
        throw needsReauth(provider)
      }
      if (connection.nextAttemptAt !== null && now < connection.nextAttemptAt) return this.#failing(provider, connection, entry, now)

      // Room for the answer is made before the request: once the provider rotates, nothing may fail.
      await session.reserve()
      let error: string
      let retryAt: number | undefined
      try {
        const outcome = parseTokenResponse(provider, await this.#postRefresh(provider, entry.refresh), clock.now(), entry.refresh)
        if (outcome.kind === 'tokens') {
          const next: OAuthEntry = { ...outcome.entry, ...(outcome.entry.scope === undefined && entry.scope ? { scope: entry.scope } : {}) }
          // Journal first, then auth.json: if the file cannot be written the tokens wait in the journal.
          await session.keep(id, next)
          if (outcome.oddExpiresIn && !this.#warnedOddLifetime.has(id)) {
            this.#warnedOddLifetime.add(id)
            log.warn({ provider: id, reason: outcome.oddExpiresIn }, 'token lifetime unknown: used until the provider rejects it')
          }
          recordRefreshSuccess(db, id, clock.now(), outcome.grantedScopes)
          log.info({ provider: id, expiresInMs: next.expires === undefined ? null : next.expires - clock.now() }, 'token refreshed')
          return next
        }
        if (outcome.kind === 'oauth_error' && outcome.error === 'invalid_grant') {
          // D3: if the stored refresh token changed, another writer won the race: use theirs.
          const current = asOAuthEntry((await readAuthFile(config.authFile, log))[id])
          if (current && current.refresh !== entry.refresh) return current
          if (!provider.transientRefreshWindow || !inDailyWindow(now, provider.transientRefreshWindow)) {
            await this.#reportNeedsReauth(session, provider, now, 'invalid_grant')
            throw needsReauth(provider)
          }
          // A known nightly glitch, not a revoked grant: try again once the window is over.
          error = 'invalid_grant_in_maintenance_window'
          retryAt = nextWindowEnd(now, provider.transientRefreshWindow) + Math.round(Math.random() * 60_000)
        } else error = outcome.kind === 'oauth_error' ? outcome.error : 'bad_response'
        if (outcome.kind === 'bad_response' && outcome.refreshToken !== undefined) {
          // Unusable answer, but the provider may have rotated: its new refresh token is the only one that works now.
          entry = { ...entry, refresh: outcome.refreshToken }
          await session.keep(id, entry)
        }
        log.warn({ provider: id, status: outcome.status, error }, 'token refresh refused')
      } catch (err) {
        if (!isAppError(err, 'PROVIDER_UNREACHABLE') && !isAppError(err, 'PROVIDER_BAD_RESPONSE')) throw err
        error = err.code === 'PROVIDER_UNREACHABLE' ? 'provider_unreachable' : 'response_too_large'
        log.warn({ provider: id, reason: err.message }, err.code === 'PROVIDER_UNREACHABLE' ? 'token endpoint unreachable' : 'token response refused')
      }
      const updated = recordRefreshFailure(db, id, now, error, retryAt ?? now + backoffMs(connection.failureCount + 1))
      return this.#failing(provider, updated, entry, now)
    }, log)
  }

  /**
   * The refresh POST. A token endpoint of a provider found by "connect <url>" that answers 404 or
   * 410 may have moved: its metadata is discovered once more and, when it names another token
   * endpoint, the request goes there once (the old endpoint never took the refresh token).
   */
  async #postRefresh(provider: Provider, refreshToken: string): Promise<RawResponse> {
    const send = (p: Provider) => fetchToken(this.#deps.http, buildTokenRequest(p, { grantType: 'refresh_token', refreshToken }))
    const raw = await send(provider)
    if ((raw.status !== 404 && raw.status !== 410) || !getDiscovered(this.#deps.db, provider.providerId)) return raw
    const { rediscoverProviders } = await import('../discovery/rediscover.js')
    await rediscoverProviders(this.#deps, { only: provider.providerId })
    const current = findProvider(this.#deps.config, provider.providerId)
    if (!current || current.tokenUrl === provider.tokenUrl) return raw
    this.#deps.log.info({ provider: provider.providerId, status: raw.status }, 'token endpoint moved (found by discovery): refresh sent to the new one')
    return send(withStoredCredentials(this.#deps.db, current))
  }

  /** While refreshes fail: keep the tokens, use the current one while it lasts, tell the user once when it runs out. */
  #failing(provider: Provider, connection: Connection, entry: OAuthEntry, now: number): OAuthEntry {
    const expired = entry.expires !== undefined && entry.expires <= now
    const name = provider.displayName
    if (expired && claimNotification(this.#deps.db, provider.providerId, 'expiry_notified_at', now))
      enqueueNotice(this.#deps.db, {
        kind: 'refresh_failing',
        provider: provider.providerId,
        text: `⚠️ ${name}: latchkey cannot renew the access token (${connection.lastError ?? 'error'}) and it has expired. It keeps retrying; nothing needs doing unless this lasts.`,
        createdAt: now,
      })
    if (!expired) return entry
    const next = connection.nextAttemptAt === null ? '' : `; next attempt ${humanDuration(connection.nextAttemptAt - now)}`
    throw new AppError('PROVIDER_UNREACHABLE', `${name}: the token expired and refreshing it is failing (${connection.lastError ?? 'error'})${next}`)
  }

  async #reportNeedsReauth(session: AuthSession, provider: Provider, now: number, reason: string): Promise<void> {
    const { db, log, config } = this.#deps
    const id = provider.providerId
    log.warn({ provider: id, reason }, 'grant revoked: needs reconnecting')
    this.#statuses = undefined
    if (!markNeedsReauth(db, id, now, reason)) return
    enqueueNotice(db, {
      kind: 'needs_reauth',
      provider: id,
      text: `⚠️ ${providerName(config, id)} needs reconnecting: it no longer accepts latchkey's refresh token. Send "connect ${id}" to reconnect.`,
      createdAt: now,
    })
    // The same content as a new file, so that other processes' cached statuses (keyed by the
    // file's version) are asked again. Failing only delays their noticing: the token they
    // hand out meanwhile is one the provider already refuses.
    await session.write(session.current).catch((err: unknown) => log.warn({ provider: id, reason: (err as Error).message }, 'auth file not rewritten: other processes notice the revoked grant later'))
  }
}

function notConnected(provider: Provider): AppError {
  return new AppError('NOT_CONNECTED', `${provider.displayName} is not connected: run "latchkey connect ${provider.providerId}"`)
}

function needsReauth(provider: Provider): AppError {
  return new AppError('NEEDS_REAUTH', `${provider.displayName} needs reconnecting: run "latchkey connect ${provider.providerId}"`)
}
