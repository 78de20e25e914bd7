// Dexcom API v3 response shapes (dexcom-api.md §3) and their pure parsers. Every documented
// field is read; enums are kept as strings (v2-era and future values must not drop a record);
// a record that cannot be stored (no recordId, a systemTime that is not a time) is skipped and
// reported, never the whole page.
import { AppError } from '../../errors.js'
import type { RawResponse } from '../../oauth/token-response.js'
import { Invalid, array, bool, fail, int, list, loose, nullable, num, object, optionalTime, recordId, string, text, time, unknownArray, type Read, type Reader } from './check.js'

export type { RawResponse }
export type { Loose } from './check.js'

/** mmol/L = mg/dL ÷ 18.0 (dexcom-api.md §3.3). */
export const MGDL_PER_MMOL = 18

export const TREND_VALUES = [
  'doubleUp', 'singleUp', 'fortyFiveUp', 'flat', 'fortyFiveDown', 'singleDown', 'doubleDown',
  'none', 'notComputable', 'rateOutOfRange', 'unknown',
] as const
export type KnownTrend = (typeof TREND_VALUES)[number]

// The page shape, checked once per answer; its records are read one by one below.
const readEnvelope = object({ recordType: text, recordVersion: text, userId: text, records: unknownArray })

// --- egvs

const readEgv = object({
  recordId,
  systemTime: time,
  displayTime: text,
  transmitterId: text,
  transmitterTicks: int,
  value: num,
  status: loose<'high' | 'low'>(),
  trend: loose<KnownTrend>(),
  trendRate: num,
  unit: loose<'unknown' | 'mg/dL' | 'mmol/L'>(),
  rateUnit: loose<'unknown' | 'mg/dL/min' | 'mmol/L/min'>(),
  displayDevice: loose<'unknown' | 'receiver' | 'iOS' | 'android'>(),
  transmitterGeneration: loose<'unknown' | 'g6' | 'g6+' | 'g6Pro' | 'g7'>(),
  transmitterGenerationVariant: loose<'d1+' | 'g6' | 'g7' | 'g715day'>(),
  displayApp: text,
})

/**
 * One estimated glucose value. `value` is mg/dL: 39 means "below 40" (status low) and 401
 * "above 400" (status high); `systemTime` is epoch ms (UTC); `displayTime` is kept as sent
 * (device local time, with an offset from mobile apps and without one from receivers).
 */
export type Egv = Read<typeof readEgv>

// --- events

const readEvent = object({
  recordId,
  systemTime: time,
  displayTime: text,
  eventStatus: loose<'created' | 'updated' | 'deleted'>(),
  eventType: loose<'unknown' | 'insulin' | 'carbs' | 'exercise' | 'health' | 'bloodGlucose' | 'notes'>(),
  eventSubType: loose<string>(),
  // Documented as a string ("12", "3.5"); a number is accepted and kept as its text.
  value: (v): string | null => (v == null ? null : typeof v === 'string' || typeof v === 'number' ? String(v) : fail('expected a string or a number')),
  unit: loose<'unknown' | 'grams' | 'mg/dL' | 'minutes' | 'units'>(),
  transmitterId: text,
  transmitterGeneration: loose<string>(),
  transmitterGenerationVariant: loose<string>(),
  displayDevice: loose<string>(),
  recordedSystemTime: optionalTime,
  recordedDisplayTime: text,
})
/** A user-entered event (insulin, carbs, exercise, ...); `value` is text as Dexcom sends it. */
export type DexcomEvent = Read<typeof readEvent>

// --- calibrations and alerts

const readCalibration = object({
  recordId,
  systemTime: time,
  displayTime: text,
  unit: loose<'unknown' | 'mg/dL' | 'mmol/L'>(),
  value: num,
  displayDevice: loose<string>(),
  transmitterId: text,
  transmitterTicks: int,
  transmitterGeneration: loose<string>(),
  transmitterGenerationVariant: loose<string>(),
})
export type Calibration = Read<typeof readCalibration>

const readAlert = object({
  recordId,
  systemTime: time,
  displayTime: text,
  alertName: loose<'unknown' | 'high' | 'low' | 'rise' | 'fall' | 'outOfRange' | 'urgentLow' | 'urgentLowSoon' | 'noReadings'>(),
  alertState: loose<'unknown' | 'inactive' | 'activeSnoozed' | 'activeAlarming'>(),
  displayDevice: loose<string>(),
  transmitterGeneration: loose<string>(),
  transmitterGenerationVariant: loose<string>(),
  transmitterId: text,
  displayApp: text,
})
export type Alert = Read<typeof readAlert>

// --- devices

const readAlertSetting = object({
  alertName: loose<string>(),
  value: num,
  unit: loose<string>(),
  snooze: num,
  enabled: bool,
  systemTime: optionalTime,
  displayTime: text,
  delay: num,
  secondaryTriggerCondition: num,
  soundTheme: loose<'unknown' | 'modern' | 'classic'>(),
  soundOutputMode: loose<'unknown' | 'sound' | 'vibrate' | 'match'>(),
})

const readAlertSchedule = object({
  alertScheduleSettings: nullable(
    object({
      alertScheduleName: text,
      isEnabled: bool,
      isDefaultSchedule: bool,
      startTime: text,
      endTime: text,
      daysOfWeek: nullable(array(string)),
      isActive: bool,
      override: nullable(object({ isOverrideEnabled: bool, mode: loose<'unknown' | 'quiet' | 'vibrate'>(), endTime: text })),
    }),
  ),
  alertSettings: list(readAlertSetting),
})

const readDevice = object({
  lastUploadDate: optionalTime,
  transmitterId: text,
  transmitterGeneration: loose<string>(),
  transmitterGenerationVariant: loose<string>(),
  displayDevice: loose<string>(),
  displayApp: text,
  alertSchedules: list(readAlertSchedule),
})
/** A receiver or phone app with its alert schedules; `lastUploadDate` is epoch ms. */
export type Device = Read<typeof readDevice>

// --- dataRange

const readRangePoint = object({ systemTime: time, displayTime: text })
const readRange = nullable(object({ start: readRangePoint, end: readRangePoint }))
const readDataRange = object({
  recordType: text,
  recordVersion: text,
  userId: text,
  calibrations: readRange,
  egvs: readRange,
  events: readRange,
})
/** Where data exists; a block is null when that kind has no data. Times are epoch ms. */
export type DataRange = Read<typeof readDataRange>

// --- parsing

export interface InvalidRecord {
  index: number
  /** Which field failed and why, without its value. */
  problem: string
}

/** One page of records: what could be read, and what was skipped and why. */
export interface RecordPage<T> {
  userId: string | null
  records: T[]
  invalid: InvalidRecord[]
}

/** The JSON body of a 200 answer, or PROVIDER_BAD_RESPONSE naming the endpoint and status. */
export function readJson(raw: RawResponse, what: string): unknown {
  if (raw.status !== 200) throw new AppError('PROVIDER_BAD_RESPONSE', `Dexcom answered ${what} with HTTP ${raw.status}`)
  try {
    return JSON.parse(raw.body)
  } catch {
    throw new AppError('PROVIDER_BAD_RESPONSE', `Dexcom answered ${what} with a body that is not JSON (${raw.contentType || 'no content type'})`)
  }
}

/** `read(value)`, or PROVIDER_BAD_RESPONSE saying which fields of the answer were wrong. */
function readAnswer<T>(read: Reader<T>, value: unknown, what: string): T {
  try {
    return read(value)
  } catch (e) {
    if (e instanceof Invalid) throw new AppError('PROVIDER_BAD_RESPONSE', `Dexcom answered ${what} with an unexpected shape (${e.describe()})`)
    throw e
  }
}

function parsePage<T>(raw: RawResponse, what: string, read: Reader<T>): RecordPage<T> {
  const envelope = readAnswer(readEnvelope, readJson(raw, what), what)
  const page: RecordPage<T> = { userId: envelope.userId, records: [], invalid: [] }
  const records = envelope.records
  for (let index = 0; index < records.length; index++) {
    try {
      page.records.push(read(records[index]))
    } catch (e) {
      if (!(e instanceof Invalid)) throw e
      page.invalid.push({ index, problem: e.describe() })
    }
  }
  return page
}

/** Converts a record whose unit says mmol/L to mg/dL; Dexcom documents mg/dL only, so this is a safety net. */
function egvInMgdl(egv: Egv): Egv {
  if (egv.unit !== 'mmol/L' || egv.value === null) return egv
  return {
    ...egv,
    value: Math.round(egv.value * MGDL_PER_MMOL),
    trendRate: egv.trendRate === null ? null : Math.round(egv.trendRate * MGDL_PER_MMOL * 100) / 100,
    unit: 'mg/dL',
    rateUnit: egv.rateUnit === null ? null : 'mg/dL/min',
  }
}

/** Parses a `/v3/users/self/egvs` answer (pure); values end up in mg/dL. */
export function parseEgvs(raw: RawResponse): RecordPage<Egv> {
  const page = parsePage(raw, 'egvs', readEgv)
  return { ...page, records: page.records.map(egvInMgdl) }
}

/** Parses a `/v3/users/self/events` answer (pure). */
export function parseEvents(raw: RawResponse): RecordPage<DexcomEvent> {
  return parsePage(raw, 'events', readEvent)
}

/** Parses a `/v3/users/self/calibrations` answer (pure). */
export function parseCalibrations(raw: RawResponse): RecordPage<Calibration> {
  return parsePage(raw, 'calibrations', readCalibration)
}

/** Parses a `/v3/users/self/alerts` answer (pure). */
export function parseAlerts(raw: RawResponse): RecordPage<Alert> {
  return parsePage(raw, 'alerts', readAlert)
}

/** Parses a `/v3/users/self/devices` answer (pure). */
export function parseDevices(raw: RawResponse): RecordPage<Device> {
  return parsePage(raw, 'devices', readDevice)
}

/** Parses a `/v3/users/self/dataRange` answer (pure); a range that does not parse is an error. */
export function parseDataRange(raw: RawResponse): DataRange {
  return readAnswer(readDataRange, readJson(raw, 'dataRange'), 'dataRange')
}

// --- units

/** mg/dL to mmol/L, one decimal. */
export function mgdlToMmol(mgdl: number): number {
  return Math.round((mgdl / MGDL_PER_MMOL) * 10) / 10
}

export type GlucoseUnits = 'mg/dL' | 'mmol/L'

/**
 * A reading for people: "112 mg/dL", "6.2 mmol/L", and the edge values as "<40 mg/dL" /
 * ">400 mg/dL" (39 and 401 are markers, not measurements).
 */
export function formatGlucose(mgdl: number, units: GlucoseUnits, status?: string | null): string {
  const low = status === 'low' || mgdl < 40
  const high = status === 'high' || mgdl > 400
  const shown = low ? 40 : high ? 400 : mgdl
  const value = units === 'mmol/L' ? mgdlToMmol(shown).toFixed(1) : String(Math.round(shown))
  return `${low ? '<' : high ? '>' : ''}${value} ${units}`
}

const TREND_ARROWS: Record<string, string> = {
  doubleUp: '⇈',
  singleUp: '↑',
  fortyFiveUp: '↗',
  flat: '→',
  fortyFiveDown: '↘',
  singleDown: '↓',
  doubleDown: '⇊',
}

/** The arrow for a trend, or '' for none/notComputable/rateOutOfRange/unknown values. */
export function trendArrow(trend: string | null | undefined): string {
  return (trend && TREND_ARROWS[trend]) ?? ''
}
