// The oura-sync job's logic: the four daily collections and heart rate, a 90-day backfill on the
// first run, then from each stream's cursor less an overlap (late sleep data, rescored days).
import type { Deps } from '../../deps.js'
import { getConnection } from '../../db/connections.js'
import { isAppError } from '../../errors.js'
import { TokenSource } from '../../oauth/refresh.js'
import { asOAuthEntry, readAuthFile } from '../../store/auth-json.js'
import { OuraRateLimitedError, createOuraClient } from './client.js'
import { ouraCursor, ouraNextAttemptAt, recordStream, upsertDocuments, upsertHeartrate } from './store.js'

const DAY_MS = 86_400_000
export const BACKFILL_DAYS = 90
/** Daily documents are fetched again from this many days before the cursor (rescored days, late sync). */
export const DAILY_OVERLAP_DAYS = 2
/** Heart rate from an hour before its cursor. */
export const HEARTRATE_OVERLAP_MS = 3_600_000
export const DAILY_TYPES = ['daily_sleep', 'sleep', 'daily_readiness', 'daily_activity'] as const
/** Which scope each stream needs (oura-api.md §1.1). */
const SCOPE: Record<string, string> = { heartrate: 'heartrate', daily_sleep: 'daily', sleep: 'daily', daily_readiness: 'daily', daily_activity: 'daily' }

export interface OuraSyncSummary {
  provider: string
  status: 'synced' | 'not_connected' | 'needs_reauth' | 'rate_limited' | 'failed'
  /** Rows added or replaced per stream. */
  rows: Record<string, number>
  /** Streams skipped because the user did not grant their scope (reported, not a failure). */
  skipped: string[]
  error?: string
}

const day = (ms: number) => new Date(ms).toISOString().slice(0, 10)

/** One sync of one Oura provider entry. Does nothing unless it is connected and not awaiting reauth. */
export async function pullOura(deps: Pick<Deps, 'config' | 'db' | 'clock' | 'http' | 'log'>, providerId: string, opts: { sleep?: (ms: number) => Promise<void>; tokens?: TokenSource } = {}): Promise<OuraSyncSummary> {
  const { db, clock, log } = deps
  const summary: OuraSyncSummary = { provider: providerId, status: 'synced', rows: {}, skipped: [] }
  if (!asOAuthEntry((await readAuthFile(deps.config.authFile))[providerId])) return { ...summary, status: 'not_connected' }
  if (getConnection(db, providerId)?.status === 'needs_reauth') return { ...summary, status: 'needs_reauth' }
  // A long Retry-After ended an earlier run: no request before the time Oura gave.
  const waitUntil = ouraNextAttemptAt(db, providerId)
  if (waitUntil !== null && clock.now() < waitUntil) return { ...summary, status: 'rate_limited', error: `waiting for Oura's rate limit until ${new Date(waitUntil).toISOString()}` }
  const client = createOuraClient(deps, opts.tokens ?? new TokenSource(deps), providerId, opts)
  let stream = 'daily_sleep'
  try {
    const granted = await client.grantedScopes()
    for (stream of [...DAILY_TYPES, 'heartrate']) {
      if (granted && !granted.includes(SCOPE[stream] as string)) {
        summary.skipped.push(stream)
        recordStream(db, providerId, stream, clock.now(), { error: 'scope_not_granted' })
        continue
      }
      const now = clock.now()
      const cursor = ouraCursor(db, providerId, stream)
      const from = cursor === null ? now - BACKFILL_DAYS * DAY_MS : cursor - (stream === 'heartrate' ? HEARTRATE_OVERLAP_MS : DAILY_OVERLAP_DAYS * DAY_MS)
      if (stream === 'heartrate') {
        const samples = await client.list('heartrate', { start_datetime: new Date(from).toISOString(), end_datetime: new Date(now).toISOString() })
        summary.rows[stream] = db.transaction(() => {
          const n = upsertHeartrate(db, providerId, samples)
          recordStream(db, providerId, stream, now, { cursorAt: now })
          return n
        })()
      } else {
        const docs = await client.list(stream, { start_date: day(from), end_date: day(now) })
        // Rows and cursor in one transaction: a run killed here resumes from the old cursor, no duplicates (upserts).
        summary.rows[stream] = db.transaction(() => {
          const n = upsertDocuments(db, providerId, stream, docs, now)
          recordStream(db, providerId, stream, now, { cursorAt: now })
          return n
        })()
      }
    }
    log.info({ provider: providerId, rows: summary.rows, skipped: summary.skipped }, 'oura sync done')
    return summary
  } catch (err) {
    if (isAppError(err, 'NEEDS_REAUTH')) return { ...summary, status: 'needs_reauth', error: err.message }
    if (isAppError(err, 'NOT_CONNECTED')) return { ...summary, status: 'not_connected', error: err.message }
    if (err instanceof OuraRateLimitedError) {
      recordStream(db, providerId, stream, clock.now(), { error: 'rate_limited', nextAttemptAt: err.retryAt })
      return { ...summary, status: 'rate_limited', error: err.message }
    }
    if (!isAppError(err)) throw err
    recordStream(db, providerId, stream, clock.now(), { error: err.code })
    log.warn({ provider: providerId, stream, code: err.code, reason: err.message }, 'oura sync failed; the next run retries')
    return { ...summary, status: 'failed', error: err.message }
  }
}
