import type { OAuthEntry } from '../store/auth-json.js'

/** Never refresh later than this before expiry (clock skew, slow networks). */
export const MIN_REFRESH_MARGIN_MS = 5 * 60 * 1000
/** ...or than this fraction of the token's lifetime, when that is larger. */
export const REFRESH_MARGIN_FRACTION = 0.1
/** Backoff after a transient failure: 30 s doubling to at most 30 min, with ±20 % jitter. */
export const BACKOFF_BASE_MS = 30_000
export const BACKOFF_MAX_MS = 30 * 60 * 1000
/** Re-consent reminders go out this long before an absolute refresh-token lifetime ends. */
export const RECONSENT_REMINDER_MS = 3 * 24 * 60 * 60 * 1000

/**
 * When the provider's absolute refresh-token lifetime ends (epoch ms), or undefined when there is
 * none to end: no lifetime declared, or no refresh token held (a GitHub OAuth App's token never
 * expires, unlike a GitHub App's, which the catalog's six months are for).
 */
export function reconsentDueAt(maxAgeMs: number | undefined, consentedAt: number, entry: Pick<OAuthEntry, 'refresh'>): number | undefined {
  return maxAgeMs === undefined || entry.refresh === undefined ? undefined : consentedAt + maxAgeMs
}

/**
 * How long before expiry a token should be renewed: the larger of 5 minutes and 10 % of its
 * lifetime (counted from when it was obtained), so short tokens are not refreshed constantly
 * and long ones are renewed well ahead.
 */
export function refreshMarginMs(entry: Pick<OAuthEntry, 'expires'>, obtainedAt: number | null): number {
  if (entry.expires === undefined || obtainedAt === null || entry.expires <= obtainedAt) return MIN_REFRESH_MARGIN_MS
  return Math.max(MIN_REFRESH_MARGIN_MS, Math.round((entry.expires - obtainedAt) * REFRESH_MARGIN_FRACTION))
}

export type RefreshDecision = { should: false; reason: 'fresh' | 'no_expiry' } | { should: true; reason: 'expired' | 'expiring' }

/**
 * Whether a token must be refreshed for a caller that needs it valid for `minValidityMs` more
 * (pure). A token without `expires` is used until the provider rejects it (RFC 6749 §5.1).
 */
export function shouldRefresh(entry: Pick<OAuthEntry, 'expires'>, now: number, minValidityMs: number): RefreshDecision {
  if (entry.expires === undefined) return { should: false, reason: 'no_expiry' }
  if (entry.expires <= now) return { should: true, reason: 'expired' }
  if (entry.expires - now <= minValidityMs) return { should: true, reason: 'expiring' }
  return { should: false, reason: 'fresh' }
}

/** Delay before the next attempt after `failures` consecutive transient failures. */
export function backoffMs(failures: number, random: () => number = Math.random): number {
  const base = Math.min(BACKOFF_MAX_MS, BACKOFF_BASE_MS * 2 ** Math.max(0, failures - 1))
  return Math.round(base * (0.8 + 0.4 * random()))
}

const minutesOf = (hhmm: string): number => Number(hhmm.slice(0, 2)) * 60 + Number(hhmm.slice(3, 5))

/** Whether `now` falls in the daily UTC window [start, end); the window may wrap midnight. */
export function inDailyWindow(now: number, window: { start: string; end: string }): boolean {
  const d = new Date(now)
  const minute = d.getUTCHours() * 60 + d.getUTCMinutes()
  const start = minutesOf(window.start)
  const end = minutesOf(window.end)
  return start <= end ? minute >= start && minute < end : minute >= start || minute < end
}

/** Epoch ms of the next end of the daily UTC window after `now`. */
export function nextWindowEnd(now: number, window: { end: string }): number {
  const d = new Date(now)
  const end = Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate()) + minutesOf(window.end) * 60_000
  return end > now ? end : end + 24 * 60 * 60_000
}
