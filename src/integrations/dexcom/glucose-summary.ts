// The text of the /glucose answer (pure): the latest reading with its trend arrow and age, and
// time in range over the last 24 h.
import { humanDuration } from '../../time-format.js'
import { formatGlucose, mgdlToMmol, trendArrow, type Egv, type GlucoseUnits } from './records.js'

export const DAY_MS = 24 * 60 * 60 * 1000

export interface TimeInRange {
  /** Readings with a value in the period. */
  readings: number
  below: number
  inRange: number
  above: number
}

/** Counts readings below, inside (inclusive bounds) and above the target range. */
export function timeInRange(readings: readonly Pick<Egv, 'value'>[], lowMgdl: number, highMgdl: number): TimeInRange {
  const result: TimeInRange = { readings: 0, below: 0, inRange: 0, above: 0 }
  for (const r of readings) {
    if (r.value === null) continue
    result.readings++
    if (r.value < lowMgdl) result.below++
    else if (r.value > highMgdl) result.above++
    else result.inRange++
  }
  return result
}

export interface SummaryInput {
  /** The newest reading with a value, if any. */
  latest: Pick<Egv, 'systemTime' | 'value' | 'status' | 'trend'> | undefined
  /** Readings of the last 24 h (any order). */
  lastDay: readonly Pick<Egv, 'value'>[]
  now: number
  units: GlucoseUnits
  lowMgdl: number
  highMgdl: number
  /** How late Dexcom serves readings (dexcom.dataDelayMinutes). */
  dataDelayMinutes: number
}

function percent(part: number, whole: number): string {
  return `${Math.round((part / whole) * 100)} %`
}

function rangeLabel(low: number, high: number, units: GlucoseUnits): string {
  return units === 'mmol/L' ? `${mgdlToMmol(low).toFixed(1)}–${mgdlToMmol(high).toFixed(1)} mmol/L` : `${low}–${high} mg/dL`
}

/** "3 h", "1 h 30 min", "45 min": Dexcom's data delay for people. */
export function delayText(minutes: number): string {
  const h = Math.floor(minutes / 60)
  const m = minutes % 60
  return h === 0 ? `${m} min` : m === 0 ? `${h} h` : `${h} h ${m} min`
}

/**
 * "112 mg/dL → · 1 h 5 min ago; Dexcom data arrives delayed" and a time-in-range line, or a
 * note that nothing is stored yet.
 */
export function glucoseSummaryText(input: SummaryInput): string {
  const { latest, units, lowMgdl, highMgdl } = input
  if (!latest || latest.value === null) return `No glucose readings stored yet; Dexcom data arrives up to ${delayText(input.dataDelayMinutes)} late.`
  const arrow = trendArrow(latest.trend)
  // A reading stamped at or after "now" (clock skew) is "just now", never "in less than a minute".
  const age = latest.systemTime >= input.now - 30_000 ? 'just now' : humanDuration(latest.systemTime - input.now)
  const first = `${formatGlucose(latest.value, units, latest.status)}${arrow ? ` ${arrow}` : ''} · ${age}; Dexcom data arrives delayed`
  const tir = timeInRange(input.lastDay, lowMgdl, highMgdl)
  const range = rangeLabel(lowMgdl, highMgdl, units)
  const second =
    tir.readings === 0
      ? `Time in range (${range}): no readings in the last 24 h`
      : `Time in range (${range}), last 24 h: ${percent(tir.inRange, tir.readings)} · below ${percent(tir.below, tir.readings)} · above ${percent(tir.above, tir.readings)} (${tir.readings} readings)`
  return `${first}\n${second}`
}
