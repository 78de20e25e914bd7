// SQLite for Oura: documents and heart-rate samples (schema.ts), cursors in the core sync_state.
import type { Db } from '../../db/open.js'

/** Upserts documents of one type; a document seen again (the overlap) replaces its row. */
export function upsertDocuments(db: Db, provider: string, type: string, docs: readonly Record<string, unknown>[], now: number): number {
  const stmt = db.prepare(
    `INSERT INTO oura_documents (provider, type, id, day, doc, fetched_at) VALUES (?, ?, ?, ?, ?, ?)
     ON CONFLICT (provider, type, id) DO UPDATE SET day = excluded.day, doc = excluded.doc, fetched_at = excluded.fetched_at`,
  )
  let n = 0
  for (const d of docs) if (typeof d.id === 'string' && typeof d.day === 'string') n += stmt.run(provider, type, d.id, d.day, JSON.stringify(d), now).changes
  return n
}

/** Upserts heart-rate samples keyed by their time. */
export function upsertHeartrate(db: Db, provider: string, samples: readonly Record<string, unknown>[]): number {
  const stmt = db.prepare('INSERT OR REPLACE INTO oura_heartrate (provider, time, bpm, source) VALUES (?, ?, ?, ?)')
  let n = 0
  for (const s of samples) {
    const time = Date.parse(String(s.timestamp))
    if (!Number.isNaN(time) && typeof s.bpm === 'number') n += stmt.run(provider, time, s.bpm, typeof s.source === 'string' ? s.source : null).changes
  }
  return n
}

/** The cursor of one stream (epoch ms up to which everything is stored), or null before the first sync. */
export function ouraCursor(db: Db, provider: string, stream: string): number | null {
  return (db.prepare('SELECT cursor_at FROM sync_state WHERE provider = ? AND stream = ?').pluck().get(provider, stream) as number | null | undefined) ?? null
}

/** The latest next_attempt_at (epoch ms) any of the provider's streams recorded after a long 429, or null. */
export function ouraNextAttemptAt(db: Db, provider: string): number | null {
  return db.prepare('SELECT max(next_attempt_at) FROM sync_state WHERE provider = ?').pluck().get(provider) as number | null
}

/** Moves a stream's cursor and records success (or the error a stream ended with). */
export function recordStream(db: Db, provider: string, stream: string, now: number, outcome: { cursorAt?: number; error?: string | null; nextAttemptAt?: number }): void {
  db.prepare(
    `INSERT INTO sync_state (provider, stream, cursor_at, last_success_at, next_attempt_at, last_error, updated_at) VALUES (@provider, @stream, @cursor, @success, @next, @error, @now)
     ON CONFLICT (provider, stream) DO UPDATE SET cursor_at = coalesce(@cursor, cursor_at), last_success_at = coalesce(@success, last_success_at),
       next_attempt_at = @next, last_error = @error, updated_at = @now`,
  ).run({ provider, stream, cursor: outcome.cursorAt ?? null, success: outcome.error ? null : now, next: outcome.nextAttemptAt ?? null, error: outcome.error ?? null, now })
}

/** One row of `latchkey oura daily` (contract: issue 13 item 4). */
export interface OuraDay {
  day: string
  sleepScore: number | null
  readinessScore: number | null
  activityScore: number | null
  totalSleepSeconds: number | null
  steps: number | null
}

/** Days since `sinceDay` (YYYY-MM-DD, inclusive) with any document, oldest first; null where Oura has no value. */
export function readDaily(db: Db, provider: string, sinceDay: string): OuraDay[] {
  const rows = db
    .prepare(
      `SELECT day,
         max(CASE WHEN type = 'daily_sleep' THEN json_extract(doc, '$.score') END) AS sleepScore,
         max(CASE WHEN type = 'daily_readiness' THEN json_extract(doc, '$.score') END) AS readinessScore,
         max(CASE WHEN type = 'daily_activity' THEN json_extract(doc, '$.score') END) AS activityScore,
         max(CASE WHEN type = 'sleep' AND json_extract(doc, '$.type') = 'long_sleep' THEN json_extract(doc, '$.total_sleep_duration') END) AS totalSleepSeconds,
         max(CASE WHEN type = 'daily_activity' THEN json_extract(doc, '$.steps') END) AS steps
       FROM oura_documents WHERE provider = ? AND day >= ? GROUP BY day ORDER BY day`,
    )
    .all(provider, sinceDay) as OuraDay[]
  return rows
}
