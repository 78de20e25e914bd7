// Oura API v2 GETs: every page of a collection (next_token), one refresh on a 401, a 429's
// Retry-After waited out when short (otherwise the run ends and the next one resumes).
import { setTimeout as sleepMs } from 'node:timers/promises'
import type { Deps } from '../../deps.js'
import { AppError } from '../../errors.js'
import { DEFAULT_MIN_VALIDITY_MS, type TokenSource } from '../../oauth/refresh.js'
import { getProvider } from '../../providers/lookup.js'

/** A Retry-After up to this is waited in place; longer ends the run. */
export const MAX_INLINE_WAIT_MS = 30_000

/** A 429 to wait out until `retryAt` (epoch ms). */
export class OuraRateLimitedError extends AppError {
  readonly retryAt: number
  constructor(retryAt: number) {
    super('RATE_LIMITED', `Oura's rate limit was reached; next attempt at ${new Date(retryAt).toISOString()}`)
    this.retryAt = retryAt
  }
}

export interface OuraClient {
  /** Every item of `/v2/usercollection/<type>` for this query, following next_token. */
  list(type: string, query: Record<string, string>): Promise<Record<string, unknown>[]>
  /** The scopes the user granted (auth.json `scope`), or undefined when the provider did not say. */
  grantedScopes(): Promise<string[] | undefined>
}

/** A client for one Oura provider entry, its tokens from the shared TokenSource. */
export function createOuraClient(
  deps: Pick<Deps, 'config' | 'http' | 'clock' | 'log'>,
  tokens: Pick<TokenSource, 'getEntry'>,
  providerId: string,
  opts: { sleep?: (ms: number) => Promise<void> } = {},
): OuraClient {
  const provider = getProvider(deps.config, providerId)
  const base = (provider.apiBaseUrl ?? 'https://api.ouraring.com').replace(/\/+$/, '')
  const sleep = opts.sleep ?? ((ms: number) => sleepMs(ms))

  async function getPage(path: string, query: Record<string, string>): Promise<{ data: Record<string, unknown>[]; next_token: string | null }> {
    let entry = await tokens.getEntry(providerId, DEFAULT_MIN_VALIDITY_MS)
    let refreshed = false
    let waits = 0
    for (;;) {
      let res
      try {
        res = await deps.http.get(`${base}${path}`, { searchParams: query, headers: { authorization: `Bearer ${entry.access}`, accept: 'application/json' }, throwHttpErrors: false, followRedirect: false, retry: { limit: 0 } })
      } catch (err) {
        // got errors carry the request headers (the bearer token): keep only their code.
        throw new AppError('PROVIDER_UNREACHABLE', `could not reach Oura at ${new URL(base).host} (${(err as { code?: string }).code ?? 'ERR_UNKNOWN'})`)
      }
      if (res.statusCode === 401 && !refreshed && entry.expires !== undefined) {
        refreshed = true
        // More validity than the rejected token has left forces a refresh (single-use refresh tokens: serialised by TokenSource).
        entry = await tokens.getEntry(providerId, Math.max(DEFAULT_MIN_VALIDITY_MS, entry.expires - deps.clock.now() + 1))
        continue
      }
      if (res.statusCode === 429) {
        const header = Number(res.headers['retry-after'])
        const wait = Number.isFinite(header) ? header * 1000 : 60_000
        if (wait <= MAX_INLINE_WAIT_MS && waits++ < 2) {
          deps.log.warn({ provider: providerId, path, waitMs: wait }, 'oura rate limit; waiting as told')
          await sleep(wait)
          continue
        }
        throw new OuraRateLimitedError(deps.clock.now() + wait)
      }
      if (res.statusCode === 403) throw new AppError('PROVIDER_BAD_RESPONSE', "Oura answered 403: the user's Oura membership has lapsed, so its data is not available through the API")
      if (res.statusCode !== 200) throw new AppError('PROVIDER_BAD_RESPONSE', `Oura answered HTTP ${res.statusCode} on ${path}`)
      let body: { data?: unknown; next_token?: unknown } | null
      try {
        body = JSON.parse(res.body) as typeof body
      } catch {
        throw new AppError('PROVIDER_BAD_RESPONSE', `Oura's ${path} answer is not JSON`)
      }
      if (!Array.isArray(body?.data)) throw new AppError('PROVIDER_BAD_RESPONSE', `Oura's ${path} answer has no data array`)
      return { data: body.data as Record<string, unknown>[], next_token: typeof body.next_token === 'string' ? body.next_token : null }
    }
  }

  return {
    async list(type, query) {
      const items: Record<string, unknown>[] = []
      let next: string | null = null
      do {
        const page = await getPage(`/v2/usercollection/${type}`, next ? { ...query, next_token: next } : query)
        items.push(...page.data)
        next = page.next_token
      } while (next)
      return items
    },
    async grantedScopes() {
      const scope = (await tokens.getEntry(providerId, DEFAULT_MIN_VALIDITY_MS)).scope
      return scope === undefined ? undefined : scope.split(/[ +]/).filter(Boolean)
    },
  }
}
