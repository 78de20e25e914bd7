// The dexcom-sync job's logic: pull new EGVs and events into SQLite, window by window.
import { getConnection } from '../../db/connections.js'
import type { Deps } from '../../deps.js'
import type { Db } from '../../db/open.js'
import { isAppError } from '../../errors.js'
import { TokenSource } from '../../oauth/refresh.js'
import { getProvider } from '../../providers/lookup.js'
import { asOAuthEntry, readAuthFile } from '../../store/auth-json.js'
import {
  MAX_WINDOW_MS,
  RateLimitedError,
  createDexcomClient,
  fetchDataRange,
  fetchEgvs,
  fetchEvents,
  type DexcomClient,
  type DexcomClientOptions,
} from './client.js'
import { parseDataRange, parseEgvs, parseEvents, type DataRange } from './records.js'
import { advanceCursor, getSyncState, recordSyncOutcome, upsertEvents, upsertReadings, type SyncStream } from './store.js'

const DAY_MS = 24 * 60 * 60 * 1000
/**
 * Each run starts this far before its cursor, so records that reach Dexcom slightly out of
 * order (a late phone upload) are still picked up; the upsert makes the overlap free of duplicates.
 */
export const SYNC_OVERLAP_MS = 60 * 60 * 1000

export interface PullOptions extends DexcomClientOptions {
  /** The process's shared token source (a new one otherwise). */
  tokens?: TokenSource
  /** Window length, at most Dexcom's 30 days (tests use shorter ones). */
  maxWindowMs?: number
  overlapMs?: number
}

export interface StreamSummary {
  /** Rows that were not stored before this run. */
  added: number
  /** Records fetched (including ones already stored). */
  fetched: number
  /** Records skipped because they could not be read (no recordId, a bad time). */
  invalid: number
  windows: number
  cursorAt: number | null
}

export interface PullSummary {
  provider: string
  status: 'synced' | 'not_connected' | 'needs_reauth' | 'rate_limited' | 'failed'
  egvs: StreamSummary
  events: StreamSummary
  /** The user-facing reason when status is not synced (never a token). */
  error?: string
}

function emptyStream(cursorAt: number | null): StreamSummary {
  return { added: 0, fetched: 0, invalid: 0, windows: 0, cursorAt }
}

/**
 * One run of the dexcom-sync job for `config.dexcom.provider`. Does nothing while it is not
 * connected or needs reconnecting. Asks dataRange where data lies, then fetches each stream from
 * its cursor (less a small overlap; the first run reaches back `backfillDays`) in windows of at
 * most 30 days. Each window's rows and the cursor move are one transaction, so a run killed at
 * any point, or run twice, neither duplicates nor loses a record.
 */
export async function pullGlucose(deps: Pick<Deps, 'config' | 'db' | 'clock' | 'http' | 'log'>, opts: PullOptions = {}): Promise<PullSummary> {
  const { config, db, clock, log } = deps
  const providerId = config.dexcom.provider
  const provider = getProvider(config, providerId)
  const summary: PullSummary = {
    provider: providerId,
    status: 'synced',
    egvs: emptyStream(getSyncState(db, providerId, 'egvs').cursorAt),
    events: emptyStream(getSyncState(db, providerId, 'events').cursorAt),
  }
  if (!asOAuthEntry((await readAuthFile(config.authFile))[providerId])) return { ...summary, status: 'not_connected' }
  if (getConnection(db, providerId)?.status === 'needs_reauth') return { ...summary, status: 'needs_reauth' }
  const waitUntil = getSyncState(db, providerId, 'egvs').nextAttemptAt
  if (waitUntil !== null && clock.now() < waitUntil) return { ...summary, status: 'rate_limited', error: 'waiting for the rate limit to pass' }

  const client = createDexcomClient(deps, opts.tokens ?? new TokenSource(deps), providerId, opts)
  const maxWindow = Math.min(opts.maxWindowMs ?? MAX_WINDOW_MS, MAX_WINDOW_MS)
  const overlap = opts.overlapMs ?? SYNC_OVERLAP_MS
  let stream: SyncStream = 'egvs'
  try {
    const range = parseDataRange(await fetchDataRange(client))
    // The stream furthest behind goes first, so that under a tight rate limit neither starves.
    const order = (['egvs', 'events'] as const).slice().sort((a, b) => (summary[a].cursorAt ?? -Infinity) - (summary[b].cursorAt ?? -Infinity))
    for (stream of order) {
      await pullStream(deps, client, stream, range[stream], { maxWindow, overlap }, summary[stream])
    }
    log.info(
      { provider: providerId, readings: summary.egvs.added, events: summary.events.added, windows: summary.egvs.windows + summary.events.windows },
      'dexcom sync done',
    )
    return summary
  } catch (err) {
    const now = clock.now()
    if (isAppError(err, 'NEEDS_REAUTH')) return { ...summary, status: 'needs_reauth', error: err.message }
    if (isAppError(err, 'NOT_CONNECTED')) return { ...summary, status: 'not_connected', error: err.message }
    if (err instanceof RateLimitedError) {
      recordSyncOutcome(db, providerId, 'egvs', now, { error: 'rate_limited', nextAttemptAt: err.retryAt })
      log.warn({ provider: providerId, retryInMs: err.retryAt - now }, 'dexcom sync paused by the rate limit')
      return { ...summary, status: 'rate_limited', error: err.message }
    }
    if (!isAppError(err)) throw err
    recordSyncOutcome(db, providerId, stream, now, { error: err.code })
    log.warn({ provider: providerId, stream, code: err.code, reason: err.message }, `${provider.displayName} sync failed; the next run retries`)
    return { ...summary, status: 'failed', error: err.message }
  }
}

/** Fetches one stream from its cursor to the end of its data range; `result` is updated window by window. */
async function pullStream(
  deps: Pick<Deps, 'config' | 'db' | 'clock' | 'log'>,
  client: DexcomClient,
  stream: SyncStream,
  block: DataRange['egvs'],
  limits: { maxWindow: number; overlap: number },
  result: StreamSummary,
): Promise<void> {
  const { config, db, clock, log } = deps
  const providerId = client.providerId
  const state = getSyncState(db, providerId, stream)
  const now = clock.now()
  if (!block) {
    recordSyncOutcome(db, providerId, stream, now, { error: null })
    return
  }
  const floor = now - config.dexcom.backfillDays * DAY_MS
  const fromCursor = state.cursorAt === null ? block.start.systemTime : state.cursorAt - limits.overlap
  // Whole seconds: Dexcom's query dates have no fractions. endDate is exclusive, so go one past the last record.
  let start = Math.floor(Math.max(fromCursor, block.start.systemTime, floor) / 1000) * 1000
  const end = Math.floor(block.end.systemTime / 1000) * 1000 + 1000
  while (start < end) {
    const windowEnd = Math.min(start + limits.maxWindow, end)
    const range = { start, end: windowEnd }
    const fetchedAt = clock.now()
    // One window: its rows and the cursor move commit together, or not at all. IMMEDIATE: the
    // upsert reads a count before it writes, and a deferred transaction upgraded after another
    // connection's commit fails at once with SQLITE_BUSY instead of waiting (WAL snapshots).
    const store = <T>(page: { records: T[]; invalid: unknown[] }, upsert: (db: Db, provider: string, records: T[], at: number) => number) => {
      db.transaction(() => {
        result.added += upsert(db, providerId, page.records, fetchedAt)
        advanceCursor(db, providerId, stream, windowEnd, fetchedAt)
      }).immediate()
      result.fetched += page.records.length
      result.invalid += page.invalid.length
      if (page.invalid.length) log.warn({ provider: providerId, stream, skipped: page.invalid.slice(0, 5) }, 'dexcom records skipped')
    }
    if (stream === 'egvs') store(parseEgvs(await fetchEgvs(client, range)), upsertReadings)
    else store(parseEvents(await fetchEvents(client, range)), upsertEvents)
    result.windows++
    result.cursorAt = Math.max(result.cursorAt ?? windowEnd, windowEnd)
    start = windowEnd
  }
  if (result.windows === 0) recordSyncOutcome(db, providerId, stream, now, { error: null })
}
