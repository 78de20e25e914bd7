// The Dexcom API v3 client: the got GETs (fetchX) beside the pure parsers in records.ts. One
// place decides retries: a 401 gets one token refresh and one retry, a 429 waits out its
// Retry-After when short, a 5xx or a network failure is retried with backoff (GETs only:
// they change nothing on the server).
import { setTimeout as sleepMs } from 'node:timers/promises'
import { BODY_TOO_LARGE, type Deps } from '../../deps.js'
import { AppError } from '../../errors.js'
import { DEFAULT_MIN_VALIDITY_MS, type TokenSource } from '../../oauth/refresh.js'
import { getProvider } from '../../providers/lookup.js'
import type { OAuthEntry } from '../../store/auth-json.js'
import type { RawResponse } from './records.js'
import { formatDexcomQueryTime, formatDexcomSyncTime } from './time.js'

/** Dexcom refuses windows longer than this on egvs, events, calibrations and alerts (dexcom-api.md §3.1). */
export const MAX_WINDOW_MS = 30 * 24 * 60 * 60 * 1000
/** A 30-day window of five-minute readings is about 2 MB; a body far past that is cut off. */
export const MAX_DEXCOM_RESPONSE_BYTES = 32 * 1024 * 1024
/** A 429 without Retry-After waits this long (Dexcom's limit is per hour; the body is unconfirmed). */
export const DEFAULT_RETRY_AFTER_MS = 60_000
/** Longer waits are not spent in place: the run ends and the next one starts after it. */
export const MAX_INLINE_WAIT_MS = 30_000
export const SERVER_RETRIES = 3
export const SERVER_BACKOFF_BASE_MS = 1_000

export interface DexcomClientOptions {
  /** 5xx and network failures retried per request (default 3), after 1 s, 2 s, 4 s... */
  serverRetries?: number
  serverBackoffBaseMs?: number
  /** A Retry-After up to this is waited out in place (default 30 s); 429s retried per request: 2. */
  maxInlineWaitMs?: number
  rateLimitRetries?: number
  /** Injected so tests can record waits instead of spending them. */
  sleep?: (ms: number) => Promise<void>
}

/** A 429 that should not be waited out in place: try again at `retryAt` (epoch ms). */
export class RateLimitedError extends AppError {
  readonly retryAt: number
  constructor(retryAt: number, message: string) {
    super('RATE_LIMITED', message)
    this.retryAt = retryAt
  }
}

/** An authenticated GETter for one Dexcom provider entry (dexcom, dexcom-eu, ...). */
export interface DexcomClient {
  readonly providerId: string
  get(path: string, query?: Record<string, string>): Promise<RawResponse>
}

export interface TimeRange {
  /** Inclusive, epoch ms (sent in whole seconds). */
  start: number
  /** Exclusive, epoch ms. */
  end: number
}

/**
 * Milliseconds to wait for a Retry-After value (delta-seconds or an HTTP date, RFC 9110
 * §10.2.3), or undefined when absent or unreadable (pure).
 */
export function retryAfterMs(value: string | string[] | undefined, now: number): number | undefined {
  const v = Array.isArray(value) ? value[0] : value
  if (v === undefined || v.trim() === '') return undefined
  if (/^\s*\d+\s*$/.test(v)) return Number(v) * 1000
  if (!/GMT\s*$/i.test(v)) return undefined // IMF-fixdate ends in GMT; anything else is not a date here
  const at = Date.parse(v)
  return Number.isNaN(at) ? undefined : Math.max(0, at - now)
}

/** Builds a client that takes tokens from `tokens` (the shared TokenSource) for `providerId`. */
export function createDexcomClient(
  deps: Pick<Deps, 'config' | 'http' | 'clock' | 'log'>,
  tokens: Pick<TokenSource, 'getEntry'>,
  providerId: string,
  opts: DexcomClientOptions = {},
): DexcomClient {
  const provider = getProvider(deps.config, providerId)
  if (!provider.apiBaseUrl)
    throw new AppError('PROVIDER_NOT_CONFIGURED', `${provider.displayName} has no apiBaseUrl: set providers.${providerId}.apiBaseUrl`)
  const base = provider.apiBaseUrl.replace(/\/+$/, '')
  const host = new URL(base).host
  const sleep = opts.sleep ?? ((ms: number) => sleepMs(ms))
  const serverRetries = opts.serverRetries ?? SERVER_RETRIES
  const backoffBase = opts.serverBackoffBaseMs ?? SERVER_BACKOFF_BASE_MS
  const maxInlineWait = opts.maxInlineWaitMs ?? MAX_INLINE_WAIT_MS
  const rateLimitRetries = opts.rateLimitRetries ?? 2

  /** A new token in place of `rejected`, unless someone already replaced it (then theirs). */
  async function replaceToken(rejected: OAuthEntry): Promise<OAuthEntry> {
    if (rejected.expires === undefined)
      throw new AppError('PROVIDER_BAD_RESPONSE', `${provider.displayName} refused the access token, and it has no expiry to refresh by`)
    // Asking for more validity than the rejected token has left forces a refresh, yet a token
    // another process obtained meanwhile (which lives longer) satisfies it without a second one.
    const next = await tokens.getEntry(providerId, Math.max(DEFAULT_MIN_VALIDITY_MS, rejected.expires - deps.clock.now() + 1))
    if (next.access === rejected.access)
      throw new AppError('PROVIDER_UNREACHABLE', `${provider.displayName} refused the access token and renewing it is failing; latchkey will retry`)
    return next
  }

  return {
    providerId,
    async get(path, query = {}) {
      let entry = await tokens.getEntry(providerId, DEFAULT_MIN_VALIDITY_MS)
      let refreshed = false
      let serverFailures = 0
      let rateLimited = 0
      const url = `${base}${path}`
      for (;;) {
        let status: number
        let raw: RawResponse
        let retryAfter: string | string[] | undefined
        try {
          const res = await deps.http.get(url, {
            searchParams: query,
            headers: { authorization: `Bearer ${entry.access}`, accept: 'application/json' },
            throwHttpErrors: false,
            followRedirect: false,
            retry: { limit: 0 },
          }, { maxBytes: MAX_DEXCOM_RESPONSE_BYTES })
          status = res.statusCode
          retryAfter = res.headers['retry-after']
          raw = { status, contentType: String(res.headers['content-type'] ?? ''), body: res.body }
        } catch (err) {
          // got errors carry the request headers (the bearer token): keep only their code.
          const code = (err as { code?: string }).code ?? 'ERR_UNKNOWN'
          if (code === BODY_TOO_LARGE)
            throw new AppError('PROVIDER_BAD_RESPONSE', `Dexcom answered ${path} with more than ${MAX_DEXCOM_RESPONSE_BYTES / 1024 / 1024} MiB; it was cut off`)
          if (serverFailures < serverRetries) {
            const wait = backoffBase * 2 ** serverFailures++
            deps.log.warn({ provider: providerId, path, code, waitMs: wait }, 'dexcom unreachable; retrying')
            await sleep(wait)
            continue
          }
          throw new AppError('PROVIDER_UNREACHABLE', `could not reach Dexcom at ${host} (${code})`)
        }
        if (status === 401 && !refreshed) {
          refreshed = true
          deps.log.info({ provider: providerId, path }, 'dexcom refused the access token; refreshing once')
          entry = await replaceToken(entry)
          continue
        }
        if (status === 401)
          throw new AppError('PROVIDER_BAD_RESPONSE', `${provider.displayName} refused a freshly renewed access token (HTTP 401 on ${path})`)
        if (status === 429) {
          const wait = retryAfterMs(retryAfter, deps.clock.now()) ?? DEFAULT_RETRY_AFTER_MS
          if (rateLimited < rateLimitRetries && wait <= maxInlineWait) {
            rateLimited++
            deps.log.warn({ provider: providerId, path, waitMs: wait }, 'dexcom rate limit; waiting as told')
            await sleep(wait)
            continue
          }
          throw new RateLimitedError(deps.clock.now() + wait, `Dexcom's rate limit was reached; next attempt in ${Math.ceil(wait / 1000)} s`)
        }
        if (status >= 500 && serverFailures < serverRetries) {
          const wait = backoffBase * 2 ** serverFailures++
          deps.log.warn({ provider: providerId, path, status, waitMs: wait }, 'dexcom server error; retrying')
          await sleep(wait)
          continue
        }
        return raw
      }
    },
  }
}

function window(range: TimeRange): Record<string, string> {
  if (!(range.end > range.start)) throw new TypeError('"range.end" must be after "range.start"')
  if (range.end - range.start > MAX_WINDOW_MS) throw new TypeError('"range" must span at most 30 days')
  return { startDate: formatDexcomQueryTime(range.start), endDate: formatDexcomQueryTime(range.end) }
}

/** GET /v3/users/self/egvs for a window of at most 30 days; parse with parseEgvs. */
export function fetchEgvs(client: DexcomClient, range: TimeRange): Promise<RawResponse> {
  return client.get('/v3/users/self/egvs', window(range))
}

/** GET /v3/users/self/events; parse with parseEvents. */
export function fetchEvents(client: DexcomClient, range: TimeRange): Promise<RawResponse> {
  return client.get('/v3/users/self/events', window(range))
}

/** GET /v3/users/self/calibrations; parse with parseCalibrations. */
export function fetchCalibrations(client: DexcomClient, range: TimeRange): Promise<RawResponse> {
  return client.get('/v3/users/self/calibrations', window(range))
}

/** GET /v3/users/self/alerts; parse with parseAlerts. */
export function fetchAlerts(client: DexcomClient, range: TimeRange): Promise<RawResponse> {
  return client.get('/v3/users/self/alerts', window(range))
}

/** GET /v3/users/self/devices (no parameters); parse with parseDevices. */
export function fetchDevices(client: DexcomClient): Promise<RawResponse> {
  return client.get('/v3/users/self/devices')
}

/**
 * GET /v3/users/self/dataRange; parse with parseDataRange. `lastSyncTime` is sent only within
 * 30 days of `now`, since older values give wrong results (dexcom-api.md §4).
 */
export function fetchDataRange(client: DexcomClient, opts: { lastSyncTime?: number; now?: number } = {}): Promise<RawResponse> {
  const { lastSyncTime, now } = opts
  const useIt = lastSyncTime !== undefined && now !== undefined && now - lastSyncTime <= MAX_WINDOW_MS
  return client.get('/v3/users/self/dataRange', useIt ? { lastSyncTime: formatDexcomSyncTime(lastSyncTime) } : {})
}
