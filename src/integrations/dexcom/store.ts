// SQLite mapping for glucose_readings, glucose_events and sync_state (schema.sql): prepared SQL
// and row <-> record translation only. Callers own transactions.
import type { Db } from '../../db/open.js'
import type { DexcomEvent, Egv } from './records.js'

export type SyncStream = 'egvs' | 'events'

export interface SyncState {
  provider: string
  stream: SyncStream
  /** Everything before this (epoch ms) is stored; null before the first sync. */
  cursorAt: number | null
  lastSuccessAt: number | null
  nextAttemptAt: number | null
  lastError: string | null
}

interface ReadingRow {
  record_id: string
  system_time: number
  display_time: string | null
  value_mgdl: number | null
  status: string | null
  trend: string | null
  trend_rate: number | null
  unit: string | null
  rate_unit: string | null
  display_device: string | null
  display_app: string | null
  transmitter_id: string | null
  transmitter_ticks: number | null
  transmitter_generation: string | null
  transmitter_generation_variant: string | null
}

const READING_COLUMNS = `record_id, system_time, display_time, value_mgdl, status, trend, trend_rate, unit, rate_unit,
  display_device, display_app, transmitter_id, transmitter_ticks, transmitter_generation, transmitter_generation_variant`

function toEgv(r: ReadingRow): Egv {
  return {
    recordId: r.record_id,
    systemTime: r.system_time,
    displayTime: r.display_time,
    value: r.value_mgdl,
    status: r.status,
    trend: r.trend,
    trendRate: r.trend_rate,
    unit: r.unit,
    rateUnit: r.rate_unit,
    displayDevice: r.display_device,
    displayApp: r.display_app,
    transmitterId: r.transmitter_id,
    transmitterTicks: r.transmitter_ticks,
    transmitterGeneration: r.transmitter_generation,
    transmitterGenerationVariant: r.transmitter_generation_variant,
  }
}

/**
 * Inserts or updates readings by (provider, recordId): a record fetched twice (the window
 * overlap, a rerun after a crash) is one row. Returns how many rows were new.
 */
export function upsertReadings(db: Db, provider: string, egvs: readonly Egv[], fetchedAt: number): number {
  if (egvs.length === 0) return 0
  const count = db.prepare('SELECT count(*) AS n FROM glucose_readings WHERE provider = ?').pluck()
  const before = count.get(provider) as number
  const insert = db.prepare(
    `INSERT INTO glucose_readings (provider, ${READING_COLUMNS}, fetched_at)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
     ON CONFLICT (provider, record_id) DO UPDATE SET system_time = excluded.system_time, display_time = excluded.display_time,
       value_mgdl = excluded.value_mgdl, status = excluded.status, trend = excluded.trend, trend_rate = excluded.trend_rate,
       unit = excluded.unit, rate_unit = excluded.rate_unit, display_device = excluded.display_device,
       display_app = excluded.display_app, transmitter_id = excluded.transmitter_id, transmitter_ticks = excluded.transmitter_ticks,
       transmitter_generation = excluded.transmitter_generation,
       transmitter_generation_variant = excluded.transmitter_generation_variant, fetched_at = excluded.fetched_at`,
  )
  // Positional, not named: binding by name (and spreading each record) cost more than the insert.
  for (const e of egvs)
    insert.run(provider, e.recordId, e.systemTime, e.displayTime, e.value, e.status, e.trend, e.trendRate, e.unit, e.rateUnit,
      e.displayDevice, e.displayApp, e.transmitterId, e.transmitterTicks, e.transmitterGeneration, e.transmitterGenerationVariant, fetchedAt)
  return (count.get(provider) as number) - before
}

/** Inserts or updates events by (provider, recordId); a `deleted` event stays, with its status. Returns how many were new. */
export function upsertEvents(db: Db, provider: string, events: readonly DexcomEvent[], fetchedAt: number): number {
  if (events.length === 0) return 0
  const count = db.prepare('SELECT count(*) AS n FROM glucose_events WHERE provider = ?').pluck()
  const before = count.get(provider) as number
  const insert = db.prepare(
    `INSERT INTO glucose_events (provider, record_id, system_time, display_time, event_status, event_type, event_sub_type,
       value, unit, transmitter_id, transmitter_generation, transmitter_generation_variant, display_device,
       recorded_system_time, recorded_display_time, fetched_at)
     VALUES (@provider, @recordId, @systemTime, @displayTime, @eventStatus, @eventType, @eventSubType, @value, @unit,
       @transmitterId, @transmitterGeneration, @transmitterGenerationVariant, @displayDevice, @recordedSystemTime,
       @recordedDisplayTime, @fetchedAt)
     ON CONFLICT (provider, record_id) DO UPDATE SET system_time = excluded.system_time, display_time = excluded.display_time,
       event_status = excluded.event_status, event_type = excluded.event_type, event_sub_type = excluded.event_sub_type,
       value = excluded.value, unit = excluded.unit, transmitter_id = excluded.transmitter_id,
       transmitter_generation = excluded.transmitter_generation,
       transmitter_generation_variant = excluded.transmitter_generation_variant, display_device = excluded.display_device,
       recorded_system_time = excluded.recorded_system_time, recorded_display_time = excluded.recorded_display_time,
       fetched_at = excluded.fetched_at`,
  )
  for (const e of events) insert.run({ provider, fetchedAt, ...e })
  return (count.get(provider) as number) - before
}

/** Readings with `since <= systemTime < until`, oldest first. */
export function readReadings(db: Db, provider: string, since: number, until = Number.MAX_SAFE_INTEGER): Egv[] {
  const rows = db
    .prepare(`SELECT ${READING_COLUMNS} FROM glucose_readings WHERE provider = ? AND system_time >= ? AND system_time < ? ORDER BY system_time, record_id`)
    .all(provider, since, until) as ReadingRow[]
  return rows.map(toEgv)
}

/** The newest reading with a value, if any. */
export function latestReading(db: Db, provider: string): Egv | undefined {
  const row = db
    .prepare(`SELECT ${READING_COLUMNS} FROM glucose_readings WHERE provider = ? AND value_mgdl IS NOT NULL ORDER BY system_time DESC LIMIT 1`)
    .get(provider) as ReadingRow | undefined
  return row && toEgv(row)
}

interface SyncRow {
  provider: string
  stream: SyncStream
  cursor_at: number | null
  last_success_at: number | null
  next_attempt_at: number | null
  last_error: string | null
}

export function getSyncState(db: Db, provider: string, stream: SyncStream): SyncState {
  const r = db.prepare('SELECT * FROM sync_state WHERE provider = ? AND stream = ?').get(provider, stream) as SyncRow | undefined
  return {
    provider,
    stream,
    cursorAt: r?.cursor_at ?? null,
    lastSuccessAt: r?.last_success_at ?? null,
    nextAttemptAt: r?.next_attempt_at ?? null,
    lastError: r?.last_error ?? null,
  }
}

/** Moves the cursor forward (never back: an older run finishing late cannot undo a newer one). */
export function advanceCursor(db: Db, provider: string, stream: SyncStream, cursorAt: number, now: number): void {
  db.prepare(
    `INSERT INTO sync_state (provider, stream, cursor_at, last_success_at, updated_at) VALUES (?, ?, ?, ?, ?)
     ON CONFLICT (provider, stream) DO UPDATE SET cursor_at = max(coalesce(cursor_at, excluded.cursor_at), excluded.cursor_at),
       last_success_at = excluded.last_success_at, next_attempt_at = NULL, last_error = NULL, updated_at = excluded.updated_at`,
  ).run(provider, stream, cursorAt, now, now)
}

/** Records a finished run without new data, or a failed one (`error` set, `nextAttemptAt` when told to wait). */
export function recordSyncOutcome(
  db: Db,
  provider: string,
  stream: SyncStream,
  now: number,
  outcome: { error: string | null; nextAttemptAt?: number | null },
): void {
  db.prepare(
    `INSERT INTO sync_state (provider, stream, last_success_at, next_attempt_at, last_error, updated_at)
     VALUES (@provider, @stream, @success, @next, @error, @now)
     ON CONFLICT (provider, stream) DO UPDATE SET last_success_at = coalesce(@success, last_success_at),
       next_attempt_at = @next, last_error = @error, updated_at = @now`,
  ).run({ provider, stream, now, success: outcome.error === null ? now : null, next: outcome.nextAttemptAt ?? null, error: outcome.error })
}
