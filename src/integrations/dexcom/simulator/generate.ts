// Deterministic sandbox data: every record is a pure function of (seed, user, time), so any window
// can be generated on its own and two simulators with the same seed serve the same records.
//
// The glucose curve is a daily baseline wave plus smooth meal bumps ((x/τ)² e^(2−2x/τ), zero slope at
// the start, peak at τ), one nightly low that dips under 40 mg/dL and one afternoon high that climbs
// over 400, so every day holds both edge values (39 "low", 401 "high"; dexcom-api.md §3.3). The trend
// rate is the curve's slope and the trend string follows the reference's band table.
import { createHash } from 'node:crypto'
import { displayTime, systemTime } from './time.js'
import type { DexcomSandboxUser } from './types.js'

export const MINUTE_MS = 60_000
export const HOUR_MS = 60 * MINUTE_MS
export const DAY_MS = 24 * HOUR_MS
/** One EGV every 5 minutes (dexcom-api.md §3.3). */
export const EGV_INTERVAL_MS = 5 * MINUTE_MS

export const SANDBOX_USERS: readonly DexcomSandboxUser[] = [
  'SandboxUser1',
  'SandboxUser2',
  'SandboxUser3',
  'SandboxUser4',
  'SandboxUser5',
  'SandboxUser6',
  'SandboxUser7',
]

export function isSandboxUser(name: string): name is DexcomSandboxUser {
  return (SANDBOX_USERS as readonly string[]).includes(name)
}

export type DisplayDevice = 'iOS' | 'android' | 'receiver'

/** What each simulated account wears. 6 = G6 and 7 = G7 as on Dexcom's sandbox; the rest are a documented mix. */
export interface UserProfile {
  label: string
  generation: 'g6' | 'g7'
  variant: 'g6' | 'g7' | 'g715day' | 'd1+'
  displayDevice: DisplayDevice
  displayApp: string | null
  /** Fixed UTC offset of the display device (no DST: a simulator, not a calendar). */
  utcOffsetMinutes: number
  sessionDays: number
  warmupMinutes: number
  /** Users with calibration records (optional on G6/G7; dexcom-api.md §2.3). */
  calibrates: boolean
  /** Dexcom ONE returns empty events and calibrations (dexcom-api.md §3.5). */
  hasEvents: boolean
  baselineMgdl: number
}

export const USER_PROFILES: Readonly<Record<DexcomSandboxUser, UserProfile>> = {
  SandboxUser1: { label: 'G6, iPhone', generation: 'g6', variant: 'g6', displayDevice: 'iOS', displayApp: 'G6', utcOffsetMinutes: -480, sessionDays: 10, warmupMinutes: 120, calibrates: true, hasEvents: true, baselineMgdl: 118 },
  SandboxUser2: { label: 'G6, Android', generation: 'g6', variant: 'g6', displayDevice: 'android', displayApp: 'G6', utcOffsetMinutes: 60, sessionDays: 10, warmupMinutes: 120, calibrates: false, hasEvents: true, baselineMgdl: 126 },
  SandboxUser3: { label: 'G6, receiver', generation: 'g6', variant: 'g6', displayDevice: 'receiver', displayApp: null, utcOffsetMinutes: -300, sessionDays: 10, warmupMinutes: 120, calibrates: true, hasEvents: true, baselineMgdl: 112 },
  SandboxUser4: { label: 'Dexcom ONE, Android', generation: 'g6', variant: 'd1+', displayDevice: 'android', displayApp: 'DexcomOne', utcOffsetMinutes: 60, sessionDays: 10, warmupMinutes: 120, calibrates: false, hasEvents: false, baselineMgdl: 131 },
  SandboxUser5: { label: 'G7 15 day, iPhone', generation: 'g7', variant: 'g715day', displayDevice: 'iOS', displayApp: 'G7', utcOffsetMinutes: 540, sessionDays: 15, warmupMinutes: 30, calibrates: false, hasEvents: true, baselineMgdl: 121 },
  SandboxUser6: { label: 'G6', generation: 'g6', variant: 'g6', displayDevice: 'iOS', displayApp: 'G6', utcOffsetMinutes: -300, sessionDays: 10, warmupMinutes: 120, calibrates: false, hasEvents: true, baselineMgdl: 115 },
  SandboxUser7: { label: 'G7', generation: 'g7', variant: 'g7', displayDevice: 'iOS', displayApp: 'G7', utcOffsetMinutes: -480, sessionDays: 10, warmupMinutes: 30, calibrates: false, hasEvents: true, baselineMgdl: 120 },
}

export type Trend =
  | 'doubleUp'
  | 'singleUp'
  | 'fortyFiveUp'
  | 'flat'
  | 'fortyFiveDown'
  | 'singleDown'
  | 'doubleDown'
  | 'none'
  | 'notComputable'
  | 'rateOutOfRange'
  | 'unknown'

/** The trend string for a trend rate in mg/dL/min, per the band table of dexcom-api.md §3.3. */
export function trendForRate(rate: number): Trend {
  if (rate > 8 || rate <= -8) return 'rateOutOfRange'
  if (rate >= 3) return 'doubleUp'
  if (rate >= 2) return 'singleUp'
  if (rate >= 1) return 'fortyFiveUp'
  if (rate > -1) return 'flat'
  if (rate > -2) return 'fortyFiveDown'
  if (rate > -3) return 'singleDown'
  return 'doubleDown'
}

export interface EgvRecord {
  recordId: string
  systemTime: string
  displayTime: string
  transmitterId: string
  transmitterTicks: number
  value: number
  status: 'high' | 'low' | null
  trend: Trend
  trendRate: number | null
  unit: 'mg/dL'
  rateUnit: 'mg/dL/min'
  displayDevice: DisplayDevice
  transmitterGeneration: string
  transmitterGenerationVariant: string
  displayApp: string | null
}

export interface EventRecord {
  recordId: string
  systemTime: string
  displayTime: string
  recordedSystemTime: string | null
  recordedDisplayTime: string | null
  eventStatus: 'created'
  eventType: 'insulin' | 'carbs' | 'exercise' | 'bloodGlucose' | 'notes'
  eventSubType: string | null
  value: string
  unit: 'grams' | 'units' | 'minutes' | 'mg/dL' | null
  transmitterId: string
  transmitterGeneration: string
  transmitterGenerationVariant: string
  displayDevice: DisplayDevice
}

export interface CalibrationRecord {
  recordId: string
  systemTime: string
  displayTime: string
  unit: 'mg/dL'
  value: number
  displayDevice: DisplayDevice
  transmitterId: string
  transmitterTicks: number
  transmitterGeneration: string
  transmitterGenerationVariant: string
}

export interface AlertRecord {
  recordId: string
  systemTime: string
  displayTime: string
  alertName: 'high' | 'low' | 'urgentLow' | 'rise' | 'fall'
  alertState: 'activeAlarming'
  displayDevice: DisplayDevice
  transmitterGeneration: string
  transmitterGenerationVariant: string
  transmitterId: string
  displayApp: string | null
}

export interface TimePoint {
  systemTime: string
  displayTime: string
}

export interface DataRangeBlocks {
  egvs?: { start: TimePoint; end: TimePoint }
  events?: { start: TimePoint; end: TimePoint }
  calibrations?: { start: TimePoint; end: TimePoint }
}

/** Thresholds behind generated alerts; the device record's alert settings say the same. */
export const ALERT_THRESHOLDS = { high: 250, low: 70, urgentLow: 55, rise: 3, fall: -3 } as const

interface Bump {
  /** Where the curve starts to move (epoch ms). */
  at: number
  tauMs: number
  /** mg/dL at the peak; negative for a dip. */
  amplitude: number
}

interface PlannedEvent {
  at: number
  key: string
  eventType: EventRecord['eventType']
  eventSubType: string | null
  value: string
  unit: EventRecord['unit']
}

interface DayPlan {
  bumps: Bump[]
  events: PlannedEvent[]
  calibrationAt?: number
}

function hashHex(parts: readonly (string | number)[]): string {
  return createHash('sha256').update(parts.join('\u0000')).digest('hex')
}

/** A number in [0, 1) from the parts. */
function unitHash(...parts: (string | number)[]): number {
  return parseInt(hashHex(parts).slice(0, 12), 16) / 2 ** 48
}

/** A version-4-shaped UUID from the parts. */
export function uuidFrom(...parts: (string | number)[]): string {
  const h = hashHex(parts)
  const variant = ((parseInt(h.slice(16, 17), 16) & 0x3) | 0x8).toString(16)
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-${variant}${h.slice(17, 20)}-${h.slice(20, 32)}`
}

/** Shape of a bump: 0 before the start, 1 at x = τ, flat start, long tail. */
function bumpShape(xMs: number, tauMs: number): number {
  if (xMs <= 0) return 0
  const u = xMs / tauMs
  return u * u * Math.exp(2 - 2 * u)
}

function round1(n: number): number {
  return Math.round(n * 10) / 10
}

const PLAN_CACHE_LIMIT = 4096

/** The generator for one seed. Stateless apart from a bounded cache of day plans. */
export class SandboxData {
  readonly #seed: string
  readonly #plans = new Map<string, DayPlan>()
  readonly #transmitterIds = new Map<string, string>()
  readonly #userConstants = new Map<DexcomSandboxUser, { gridOffsetMs: number; anchorMs: number; phase: number }>()

  constructor(seed: string) {
    this.#seed = seed
  }

  /** EGVs with `systemTime` in [fromMs, toMs), oldest first. */
  egvs(user: DexcomSandboxUser, fromMs: number, toMs: number): EgvRecord[] {
    const out: EgvRecord[] = []
    for (const t of this.#gridPoints(user, fromMs, toMs)) {
      const record = this.#egvAt(user, t)
      if (record) out.push(record)
    }
    return out
  }

  /** Events with `systemTime` in [fromMs, toMs), oldest first. */
  events(user: DexcomSandboxUser, fromMs: number, toMs: number): EventRecord[] {
    const p = USER_PROFILES[user]
    if (!p.hasEvents) return []
    const out: EventRecord[] = []
    for (const plan of this.#plansCovering(user, fromMs, toMs)) {
      for (const e of plan.events) {
        if (e.at < fromMs || e.at >= toMs) continue
        const mobile = p.displayDevice !== 'receiver'
        const recordedAt = e.at + 2 * MINUTE_MS
        out.push({
          recordId: uuidFrom(this.#seed, user, 'event', e.key, e.at),
          systemTime: systemTime(e.at),
          displayTime: displayTime(e.at, p.utcOffsetMinutes, mobile),
          recordedSystemTime: mobile ? systemTime(recordedAt) : null,
          recordedDisplayTime: mobile ? displayTime(recordedAt, p.utcOffsetMinutes, mobile) : null,
          eventStatus: 'created',
          eventType: e.eventType,
          eventSubType: e.eventSubType,
          // A meter reading agrees with the curve; everything else was fixed by the day plan.
          value: e.eventType === 'bloodGlucose' ? String(Math.round(this.glucose(user, e.at))) : e.value,
          unit: e.unit,
          ...this.#transmitter(user, e.at),
          displayDevice: p.displayDevice,
        })
      }
    }
    return out.sort((a, b) => (a.systemTime < b.systemTime ? -1 : a.systemTime > b.systemTime ? 1 : 0))
  }

  /** Calibrations with `systemTime` in [fromMs, toMs), oldest first. */
  calibrations(user: DexcomSandboxUser, fromMs: number, toMs: number): CalibrationRecord[] {
    const p = USER_PROFILES[user]
    if (!p.calibrates || !p.hasEvents) return []
    const out: CalibrationRecord[] = []
    for (const plan of this.#plansCovering(user, fromMs, toMs)) {
      const at = plan.calibrationAt
      if (at === undefined || at < fromMs || at >= toMs) continue
      const tx = this.#transmitter(user, at)
      out.push({
        recordId: uuidFrom(this.#seed, user, 'calibration', at),
        systemTime: systemTime(at),
        displayTime: displayTime(at, p.utcOffsetMinutes, p.displayDevice !== 'receiver'),
        unit: 'mg/dL',
        value: Math.round(this.glucose(user, at) + (unitHash(this.#seed, user, 'cal', at) - 0.5) * 12),
        displayDevice: p.displayDevice,
        transmitterId: tx.transmitterId,
        transmitterTicks: this.#ticks(user, at),
        transmitterGeneration: tx.transmitterGeneration,
        transmitterGenerationVariant: tx.transmitterGenerationVariant,
      })
    }
    return out
  }

  /** Alerts raised in [fromMs, toMs) when the smooth curve crosses a threshold, oldest first. */
  alerts(user: DexcomSandboxUser, fromMs: number, toMs: number): AlertRecord[] {
    const p = USER_PROFILES[user]
    const one = p.variant === 'd1+' // ONE+ lacks urgent low and rise/fall alerts (dexcom-api.md §3.5)
    const out: AlertRecord[] = []
    for (const t of this.#gridPoints(user, fromMs, toMs)) {
      if (this.#inWarmup(user, t)) continue
      const prev = t - EGV_INTERVAL_MS
      const g0 = this.glucose(user, prev)
      const g1 = this.glucose(user, t)
      const r0 = this.rate(user, prev)
      const r1 = this.rate(user, t)
      const names: AlertRecord['alertName'][] = []
      if (g0 <= ALERT_THRESHOLDS.high && g1 > ALERT_THRESHOLDS.high) names.push('high')
      if (g0 >= ALERT_THRESHOLDS.low && g1 < ALERT_THRESHOLDS.low) names.push('low')
      if (!one && g0 >= ALERT_THRESHOLDS.urgentLow && g1 < ALERT_THRESHOLDS.urgentLow) names.push('urgentLow')
      if (!one && r0 < ALERT_THRESHOLDS.rise && r1 >= ALERT_THRESHOLDS.rise) names.push('rise')
      if (!one && r0 > ALERT_THRESHOLDS.fall && r1 <= ALERT_THRESHOLDS.fall) names.push('fall')
      for (const alertName of names) {
        out.push({
          recordId: uuidFrom(this.#seed, user, 'alert', alertName, t),
          systemTime: systemTime(t),
          displayTime: displayTime(t, p.utcOffsetMinutes, p.displayDevice !== 'receiver'),
          alertName,
          alertState: 'activeAlarming',
          displayDevice: p.displayDevice,
          ...this.#transmitter(user, t),
          displayApp: p.displayApp,
        })
      }
    }
    return out
  }

  /** First and last record of each kind with `systemTime` in [fromMs, toMs]; a kind without data is absent. */
  dataRange(user: DexcomSandboxUser, fromMs: number, toMs: number): DataRangeBlocks {
    const p = USER_PROFILES[user]
    const point = (t: number): TimePoint => ({
      systemTime: systemTime(t),
      displayTime: displayTime(t, p.utcOffsetMinutes, p.displayDevice !== 'receiver'),
    })
    const blocks: DataRangeBlocks = {}
    const egvFirst = this.firstEgvTime(user, fromMs, toMs)
    const egvLast = this.lastEgvTime(user, fromMs, toMs)
    if (egvFirst !== undefined && egvLast !== undefined) blocks.egvs = { start: point(egvFirst), end: point(egvLast) }
    const span = (list: (from: number, to: number) => { systemTime: string }[]) => {
      // Scan a day at a time from each end: plans are per day and cheap.
      let first: number | undefined
      for (let a = fromMs; a <= toMs && first === undefined; a += DAY_MS) {
        const found = list(a, Math.min(a + DAY_MS, toMs + 1))[0]
        if (found) first = Date.parse(`${found.systemTime}Z`)
      }
      let last: number | undefined
      for (let b = toMs + 1; b > fromMs && last === undefined; b -= DAY_MS) {
        const found = list(Math.max(b - DAY_MS, fromMs), b).at(-1)
        if (found) last = Date.parse(`${found.systemTime}Z`)
      }
      return first !== undefined && last !== undefined ? { start: point(first), end: point(last) } : undefined
    }
    const events = span((a, b) => this.events(user, a, b))
    if (events) blocks.events = events
    const calibrations = span((a, b) => this.calibrations(user, a, b))
    if (calibrations) blocks.calibrations = calibrations
    return blocks
  }

  /** The earliest EGV time in [fromMs, toMs], if any. */
  firstEgvTime(user: DexcomSandboxUser, fromMs: number, toMs: number): number | undefined {
    for (let t = this.#firstGridPoint(user, fromMs); t <= toMs; t += EGV_INTERVAL_MS) {
      if (!this.#inWarmup(user, t)) return t
    }
    return undefined
  }

  /** The latest EGV time in [fromMs, toMs], if any. */
  lastEgvTime(user: DexcomSandboxUser, fromMs: number, toMs: number): number | undefined {
    for (let t = this.#firstGridPoint(user, toMs + 1) - EGV_INTERVAL_MS; t >= fromMs; t -= EGV_INTERVAL_MS) {
      if (!this.#inWarmup(user, t)) return t
    }
    return undefined
  }

  /** The transmitter in use at `atMs` (id, generation, variant). */
  transmitterAt(user: DexcomSandboxUser, atMs: number): { transmitterId: string; transmitterGeneration: string; transmitterGenerationVariant: string } {
    return this.#transmitter(user, atMs)
  }

  /** The smooth glucose curve in mg/dL (before noise and the 40–400 clamp). */
  glucose(user: DexcomSandboxUser, t: number): number {
    let g = this.#baselineAt(user, t)
    const day = this.#localDay(user, t)
    for (const d of [day - 1, day]) {
      for (const b of this.#plan(user, d).bumps) g += b.amplitude * bumpShape(t - b.at, b.tauMs)
    }
    return g
  }

  /** The curve's slope in mg/dL/min (a one-minute central difference). */
  rate(user: DexcomSandboxUser, t: number): number {
    return this.glucose(user, t + 30_000) - this.glucose(user, t - 30_000)
  }

  #egvAt(user: DexcomSandboxUser, t: number): EgvRecord | undefined {
    if (this.#inWarmup(user, t)) return undefined
    const p = USER_PROFILES[user]
    const raw = Math.round(this.glucose(user, t) + (unitHash(this.#seed, user, 'noise', t) - 0.5) * 3)
    let value = raw
    let status: EgvRecord['status'] = null
    let trend: Trend
    let trendRate: number | null
    if (raw < 40) {
      value = 39
      status = 'low'
    } else if (raw > 400) {
      value = 401
      status = 'high'
    }
    // No arrow outside the measuring range or right after warm-up (too few readings for a slope).
    if (status !== null || this.#inWarmup(user, t - 2 * EGV_INTERVAL_MS)) {
      trend = 'notComputable'
      trendRate = null
    } else {
      trendRate = round1(this.rate(user, t))
      if (Object.is(trendRate, -0)) trendRate = 0
      trend = trendForRate(trendRate)
    }
    return {
      recordId: uuidFrom(this.#seed, user, 'egv', t),
      systemTime: systemTime(t),
      displayTime: displayTime(t, p.utcOffsetMinutes, p.displayDevice !== 'receiver'),
      transmitterId: this.#transmitter(user, t).transmitterId,
      transmitterTicks: this.#ticks(user, t),
      value,
      status,
      trend,
      trendRate,
      unit: 'mg/dL',
      rateUnit: 'mg/dL/min',
      displayDevice: p.displayDevice,
      transmitterGeneration: p.generation,
      transmitterGenerationVariant: p.variant,
      displayApp: p.displayApp,
    }
  }

  /** Readings sit on a per-user 5-minute grid (offset by some seconds, like a real sensor). */
  #gridOffsetMs(user: DexcomSandboxUser): number {
    return this.#constants(user).gridOffsetMs
  }

  /** Per-user constants, hashed once (they sit on the hot path of every reading). */
  #constants(user: DexcomSandboxUser): { gridOffsetMs: number; anchorMs: number; phase: number } {
    let c = this.#userConstants.get(user)
    if (!c) {
      c = {
        gridOffsetMs: Math.floor(unitHash(this.#seed, user, 'grid') * 300) * 1000,
        anchorMs: Math.floor(unitHash(this.#seed, user, 'anchor') * this.#sessionMs(user)),
        phase: unitHash(this.#seed, user, 'phase') * 2 * Math.PI,
      }
      this.#userConstants.set(user, c)
    }
    return c
  }

  #firstGridPoint(user: DexcomSandboxUser, fromMs: number): number {
    const off = this.#gridOffsetMs(user)
    return off + Math.ceil((fromMs - off) / EGV_INTERVAL_MS) * EGV_INTERVAL_MS
  }

  *#gridPoints(user: DexcomSandboxUser, fromMs: number, toMs: number): Generator<number> {
    for (let t = this.#firstGridPoint(user, fromMs); t < toMs; t += EGV_INTERVAL_MS) yield t
  }

  #sessionMs(user: DexcomSandboxUser): number {
    return USER_PROFILES[user].sessionDays * DAY_MS
  }

  #sessionAnchor(user: DexcomSandboxUser): number {
    return this.#constants(user).anchorMs
  }

  #sessionIndex(user: DexcomSandboxUser, t: number): number {
    return Math.floor((t - this.#sessionAnchor(user)) / this.#sessionMs(user))
  }

  #inWarmup(user: DexcomSandboxUser, t: number): boolean {
    const start = this.#sessionAnchor(user) + this.#sessionIndex(user, t) * this.#sessionMs(user)
    return t - start < USER_PROFILES[user].warmupMinutes * MINUTE_MS
  }

  /** G7 sensors carry their own transmitter; a G6 transmitter lasts 9 sessions (90 days). */
  #transmitterIndex(user: DexcomSandboxUser, t: number): number {
    const session = this.#sessionIndex(user, t)
    return USER_PROFILES[user].generation === 'g7' ? session : Math.floor(session / 9)
  }

  #transmitter(user: DexcomSandboxUser, t: number) {
    const p = USER_PROFILES[user]
    const index = this.#transmitterIndex(user, t)
    const key = `${user}:${index}`
    let transmitterId = this.#transmitterIds.get(key)
    if (transmitterId === undefined) {
      transmitterId = hashHex([this.#seed, user, 'transmitter', index])
      if (this.#transmitterIds.size >= PLAN_CACHE_LIMIT) this.#transmitterIds.clear()
      this.#transmitterIds.set(key, transmitterId)
    }
    return {
      transmitterId,
      transmitterGeneration: p.generation,
      transmitterGenerationVariant: p.variant,
    }
  }

  /** Seconds since the transmitter started. */
  #ticks(user: DexcomSandboxUser, t: number): number {
    const sessionsPerTx = USER_PROFILES[user].generation === 'g7' ? 1 : 9
    const start = this.#sessionAnchor(user) + this.#transmitterIndex(user, t) * sessionsPerTx * this.#sessionMs(user)
    return Math.floor((t - start) / 1000)
  }

  #localDay(user: DexcomSandboxUser, t: number): number {
    return Math.floor((t + USER_PROFILES[user].utcOffsetMinutes * MINUTE_MS) / DAY_MS)
  }

  *#plansCovering(user: DexcomSandboxUser, fromMs: number, toMs: number): Generator<DayPlan> {
    const last = this.#localDay(user, toMs - 1)
    for (let d = this.#localDay(user, fromMs); d <= last; d++) yield this.#plan(user, d)
  }

  #plan(user: DexcomSandboxUser, day: number): DayPlan {
    const key = `${user}:${day}`
    const cached = this.#plans.get(key)
    if (cached) return cached
    const plan = this.#makePlan(user, day)
    if (this.#plans.size >= PLAN_CACHE_LIMIT) this.#plans.clear()
    this.#plans.set(key, plan)
    return plan
  }

  #makePlan(user: DexcomSandboxUser, day: number): DayPlan {
    const p = USER_PROFILES[user]
    const u = (what: string) => unitHash(this.#seed, user, day, what)
    const dayStart = day * DAY_MS - p.utcOffsetMinutes * MINUTE_MS // local midnight in UTC
    const at = (hour: number, jitterMinutes: number, what: string) => dayStart + Math.round(hour * 60 + u(what) * jitterMinutes) * MINUTE_MS
    const bumps: Bump[] = []
    const events: PlannedEvent[] = []
    const meals: [string, number, number, number][] = [
      // name, local hour, jitter (min), base carbs
      ['breakfast', 7, 60, 25],
      ['lunch', 12.25, 45, 40],
      ['dinner', 18.75, 60, 45],
    ]
    for (const [name, hour, jitter, baseCarbs] of meals) {
      const mealAt = at(hour, jitter, name)
      const carbs = baseCarbs + Math.round((u(`${name}-carbs`) * 50) / 5) * 5
      const units = Math.round((carbs / 10) * 2) / 2
      bumps.push({ at: mealAt, tauMs: (50 + u(`${name}-tau`) * 30) * MINUTE_MS, amplitude: carbs * 2 })
      events.push({ at: mealAt, key: `${name}-carbs`, eventType: 'carbs', eventSubType: null, value: String(carbs), unit: 'grams' })
      events.push({ at: mealAt - 10 * MINUTE_MS, key: `${name}-bolus`, eventType: 'insulin', eventSubType: 'fastActing', value: units.toFixed(1), unit: 'units' })
    }
    // The nightly low: deep enough that the noisy value falls under 40 (reported as 39, "low").
    const lowAt = at(2.5, 60, 'low')
    const lowTau = 60 * MINUTE_MS
    const lowPeak = lowAt + lowTau
    bumps.push({ at: lowAt, tauMs: lowTau, amplitude: -(this.#baselineAt(user, lowPeak) - 25) })
    // The afternoon high: over 400 (reported as 401, "high") at a slope under 8 mg/dL/min.
    const highAt = at(15, 60, 'high')
    const highTau = 100 * MINUTE_MS
    bumps.push({ at: highAt, tauMs: highTau, amplitude: 440 - this.#baselineAt(user, highAt + highTau) })
    events.push({ at: at(22, 30, 'basal'), key: 'basal', eventType: 'insulin', eventSubType: 'longActing', value: String(14 + Math.floor(u('basal-units') * 8)), unit: 'units' })
    if (u('exercise') < 0.4) {
      const intensity = (['light', 'medium', 'heavy'] as const)[Math.floor(u('intensity') * 3)] ?? 'medium'
      events.push({ at: at(17.5, 30, 'exercise-at'), key: 'exercise', eventType: 'exercise', eventSubType: intensity, value: String(30 + 15 * Math.floor(u('minutes') * 3)), unit: 'minutes' })
    }
    if (u('note') < 0.25) {
      events.push({ at: at(9, 120, 'note-at'), key: 'note', eventType: 'notes', eventSubType: null, value: 'Sandbox note', unit: null })
    }
    const plan: DayPlan = { bumps, events }
    if (p.calibrates) {
      const calAt = at(8, 30, 'calibration')
      if (day % 2 === 0) plan.calibrationAt = calAt
      else events.push({ at: calAt, key: 'bg', eventType: 'bloodGlucose', eventSubType: null, value: '', unit: 'mg/dL' }) // value filled from the curve
    }
    return plan
  }

  #baselineAt(user: DexcomSandboxUser, t: number): number {
    const p = USER_PROFILES[user]
    const localMinutes = ((((t + p.utcOffsetMinutes * MINUTE_MS) % DAY_MS) + DAY_MS) % DAY_MS) / MINUTE_MS
    // A slow daily wave (dawn rise and afternoon dip shift per user).
    const phase = this.#constants(user).phase
    return p.baselineMgdl + 15 * Math.sin((2 * Math.PI * localMinutes) / 1440 + phase)
  }
}
