// Dexcom API v3 response shapes (dexcom-api.md §3) and their pure parsers. Every documented
// field is read; enums are kept as strings (v2-era and future values must not drop a record);
// a record that cannot be stored (no recordId, a systemTime that is not a time) is skipped and
// reported, never the whole page.
import { z } from 'zod'
import { AppError } from '../../errors.js'
import type { RawResponse } from '../../oauth/token-response.js'
import { parseDexcomTime } from './time.js'

export type { RawResponse }

/** mmol/L = mg/dL ÷ 18.0 (dexcom-api.md §3.3). */
export const MGDL_PER_MMOL = 18

export const TREND_VALUES = [
  'doubleUp', 'singleUp', 'fortyFiveUp', 'flat', 'fortyFiveDown', 'singleDown', 'doubleDown',
  'none', 'notComputable', 'rateOutOfRange', 'unknown',
] as const
export type KnownTrend = (typeof TREND_VALUES)[number]
/** A documented value, or any other string the API sends (kept, not rejected). */
export type Loose<T extends string> = T | (string & {})

// --- building blocks

const nullable = <S extends z.ZodType>(schema: S) => schema.nullish().transform((v): z.output<S> | null => v ?? null)
const text = nullable(z.string())
const num = nullable(z.number())
const int = nullable(z.number().int())
const bool = nullable(z.boolean())
const loose = <T extends string>() => nullable(z.string()).transform((v) => v as Loose<T> | null)

const Time = z.string().transform((s, ctx) => {
  const ms = parseDexcomTime(s)
  if (ms === undefined) {
    ctx.addIssue({ code: 'custom', message: 'expected an ISO 8601 timestamp' })
    return z.NEVER
  }
  return ms
})
const OptionalTime = nullable(Time)

const RecordIdSchema = z.string().min(1).max(200)

const EnvelopeSchema = z.object({
  recordType: text,
  recordVersion: text,
  userId: text,
  records: z.array(z.unknown()),
})

// --- egvs

const EgvSchema = z.object({
  recordId: RecordIdSchema,
  systemTime: Time,
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
export type Egv = z.output<typeof EgvSchema>

// --- events

const EventSchema = z.object({
  recordId: RecordIdSchema,
  systemTime: Time,
  displayTime: text,
  eventStatus: loose<'created' | 'updated' | 'deleted'>(),
  eventType: loose<'unknown' | 'insulin' | 'carbs' | 'exercise' | 'health' | 'bloodGlucose' | 'notes'>(),
  eventSubType: loose<string>(),
  // Documented as a string ("12", "3.5"); a number is accepted and kept as its text.
  value: nullable(z.union([z.string(), z.number()])).transform((v) => (v === null ? null : String(v))),
  unit: loose<'unknown' | 'grams' | 'mg/dL' | 'minutes' | 'units'>(),
  transmitterId: text,
  transmitterGeneration: loose<string>(),
  transmitterGenerationVariant: loose<string>(),
  displayDevice: loose<string>(),
  recordedSystemTime: OptionalTime,
  recordedDisplayTime: text,
})
/** A user-entered event (insulin, carbs, exercise, ...); `value` is text as Dexcom sends it. */
export type DexcomEvent = z.output<typeof EventSchema>

// --- calibrations and alerts

const CalibrationSchema = z.object({
  recordId: RecordIdSchema,
  systemTime: Time,
  displayTime: text,
  unit: loose<'unknown' | 'mg/dL' | 'mmol/L'>(),
  value: num,
  displayDevice: loose<string>(),
  transmitterId: text,
  transmitterTicks: int,
  transmitterGeneration: loose<string>(),
  transmitterGenerationVariant: loose<string>(),
})
export type Calibration = z.output<typeof CalibrationSchema>

const AlertSchema = z.object({
  recordId: RecordIdSchema,
  systemTime: Time,
  displayTime: text,
  alertName: loose<'unknown' | 'high' | 'low' | 'rise' | 'fall' | 'outOfRange' | 'urgentLow' | 'urgentLowSoon' | 'noReadings'>(),
  alertState: loose<'unknown' | 'inactive' | 'activeSnoozed' | 'activeAlarming'>(),
  displayDevice: loose<string>(),
  transmitterGeneration: loose<string>(),
  transmitterGenerationVariant: loose<string>(),
  transmitterId: text,
  displayApp: text,
})
export type Alert = z.output<typeof AlertSchema>

// --- devices

const AlertSettingSchema = z.object({
  alertName: loose<string>(),
  value: num,
  unit: loose<string>(),
  snooze: num,
  enabled: bool,
  systemTime: OptionalTime,
  displayTime: text,
  delay: num,
  secondaryTriggerCondition: num,
  soundTheme: loose<'unknown' | 'modern' | 'classic'>(),
  soundOutputMode: loose<'unknown' | 'sound' | 'vibrate' | 'match'>(),
})

const AlertScheduleSchema = z.object({
  alertScheduleSettings: nullable(
    z.object({
      alertScheduleName: text,
      isEnabled: bool,
      isDefaultSchedule: bool,
      startTime: text,
      endTime: text,
      daysOfWeek: nullable(z.array(z.string())),
      isActive: bool,
      override: nullable(z.object({ isOverrideEnabled: bool, mode: loose<'unknown' | 'quiet' | 'vibrate'>(), endTime: text })),
    }),
  ),
  alertSettings: nullable(z.array(AlertSettingSchema)).transform((v) => v ?? []),
})

const DeviceSchema = z.object({
  lastUploadDate: OptionalTime,
  transmitterId: text,
  transmitterGeneration: loose<string>(),
  transmitterGenerationVariant: loose<string>(),
  displayDevice: loose<string>(),
  displayApp: text,
  alertSchedules: nullable(z.array(AlertScheduleSchema)).transform((v) => v ?? []),
})
/** A receiver or phone app with its alert schedules; `lastUploadDate` is epoch ms. */
export type Device = z.output<typeof DeviceSchema>

// --- dataRange

const RangePointSchema = z.object({ systemTime: Time, displayTime: text })
const RangeSchema = nullable(z.object({ start: RangePointSchema, end: RangePointSchema }))
const DataRangeSchema = z.object({
  recordType: text,
  recordVersion: text,
  userId: text,
  calibrations: RangeSchema,
  egvs: RangeSchema,
  events: RangeSchema,
})
/** Where data exists; a block is null when that kind has no data. Times are epoch ms. */
export type DataRange = z.output<typeof DataRangeSchema>

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

function describe(error: z.ZodError): string {
  return error.issues.map((i) => `${i.path.map(String).join('.') || '(record)'}: ${i.message}`).join('; ')
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

function parsePage<S extends z.ZodType>(raw: RawResponse, what: string, schema: S): RecordPage<z.output<S>> {
  const envelope = EnvelopeSchema.safeParse(readJson(raw, what))
  if (!envelope.success) throw new AppError('PROVIDER_BAD_RESPONSE', `Dexcom answered ${what} with an unexpected shape (${describe(envelope.error)})`)
  const page: RecordPage<z.output<S>> = { userId: envelope.data.userId, records: [], invalid: [] }
  envelope.data.records.forEach((record, index) => {
    const parsed = schema.safeParse(record)
    if (parsed.success) page.records.push(parsed.data)
    else page.invalid.push({ index, problem: describe(parsed.error) })
  })
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
  const page = parsePage(raw, 'egvs', EgvSchema)
  return { ...page, records: page.records.map(egvInMgdl) }
}

/** Parses a `/v3/users/self/events` answer (pure). */
export function parseEvents(raw: RawResponse): RecordPage<DexcomEvent> {
  return parsePage(raw, 'events', EventSchema)
}

/** Parses a `/v3/users/self/calibrations` answer (pure). */
export function parseCalibrations(raw: RawResponse): RecordPage<Calibration> {
  return parsePage(raw, 'calibrations', CalibrationSchema)
}

/** Parses a `/v3/users/self/alerts` answer (pure). */
export function parseAlerts(raw: RawResponse): RecordPage<Alert> {
  return parsePage(raw, 'alerts', AlertSchema)
}

/** Parses a `/v3/users/self/devices` answer (pure). */
export function parseDevices(raw: RawResponse): RecordPage<Device> {
  return parsePage(raw, 'devices', DeviceSchema)
}

/** Parses a `/v3/users/self/dataRange` answer (pure); a range that does not parse is an error. */
export function parseDataRange(raw: RawResponse): DataRange {
  const parsed = DataRangeSchema.safeParse(readJson(raw, 'dataRange'))
  if (!parsed.success) throw new AppError('PROVIDER_BAD_RESPONSE', `Dexcom answered dataRange with an unexpected shape (${describe(parsed.error)})`)
  return parsed.data
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
