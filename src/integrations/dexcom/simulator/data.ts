// The data endpoints of API v3 (dexcom-api.md §3): GET /v3/users/self/{egvs,dataRange,devices,events,
// alerts,calibrations}. Order of checks: injected fault, bearer (401), hourly limit per app (429),
// parameters (400), then the records that exist by now − delay.
import { applyFault, type FaultBox } from './faults.js'
import { DAY_MS, HOUR_MS, MINUTE_MS, USER_PROFILES, uuidFrom, type SandboxData } from './generate.js'
import type { AccessGrant, OAuthStore } from './oauth.js'
import { sendJson, type SimRequest } from './reply.js'
import { displayTime, parseQueryDate, systemTime } from './time.js'
import type { DexcomDataEndpoint, DexcomSandboxUser, DexcomSimulatorStats } from './types.js'

export const DATA_ENDPOINTS: readonly DexcomDataEndpoint[] = ['egvs', 'dataRange', 'devices', 'events', 'alerts', 'calibrations']

/** The 30-day maximum window (dexcom-api.md §3.1). */
export const MAX_WINDOW_MS = 30 * DAY_MS

export interface DataContext {
  store: OAuthStore
  data: SandboxData
  faults: FaultBox
  stats: DexcomSimulatorStats
  now: () => number
  dataDelayMs: number
  dataStartMs: number
  hourlyRateLimit: number
  /** Calls per client id in the current clock hour. */
  usage: Map<string, { hour: number; count: number }>
}

/** `userId` is stable per account and differs per app (dexcom-api.md §3.2). */
export function userIdFor(clientId: string, user: DexcomSandboxUser): string {
  return uuidFrom('userId', clientId, user)
}

function badRequest(sim: SimRequest, message: string): void {
  // Body shape UNCONFIRMED on Dexcom (dexcom-api.md §3.6): clients must only rely on the status.
  sendJson(sim.res, 400, { error: 'invalid_request', message })
}

/** Reads and checks startDate/endDate; undefined after answering 400. */
function windowOf(sim: SimRequest): { start: number; end: number } | undefined {
  const q = sim.url.searchParams
  const rawStart = q.get('startDate')
  const rawEnd = q.get('endDate')
  if (rawStart === null || rawEnd === null) {
    badRequest(sim, 'startDate and endDate are required')
    return undefined
  }
  const start = parseQueryDate(rawStart)
  const end = parseQueryDate(rawEnd)
  if (start === undefined || end === undefined) {
    badRequest(sim, 'startDate and endDate must look like 2025-02-06T09:12:35 (UTC)')
    return undefined
  }
  if (end <= start) {
    badRequest(sim, 'endDate must be after startDate')
    return undefined
  }
  if (end - start > MAX_WINDOW_MS) {
    badRequest(sim, 'the window between startDate and endDate must not exceed 30 days')
    return undefined
  }
  return { start, end }
}

export async function handleData(sim: SimRequest, endpoint: DexcomDataEndpoint, ctx: DataContext): Promise<void> {
  ctx.stats.dataRequests++
  const fault = ctx.faults.take(['data', endpoint])
  if (fault?.delayMs) await new Promise((resolve) => setTimeout(resolve, fault.delayMs))
  await fault?.hold?.catch(() => {})
  if (fault && fault.status !== undefined) return applyFault(sim.res, fault)

  const auth = /^Bearer ([^\s]+)$/i.exec(sim.req.headers.authorization ?? '')
  const grant: AccessGrant | undefined = auth?.[1] ? ctx.store.authenticate(auth[1]) : undefined
  if (!grant) {
    return sendJson(sim.res, 401, { error: 'invalid_token', message: 'missing, unknown or expired bearer token' }, { 'www-authenticate': 'Bearer error="invalid_token"' })
  }

  const now = ctx.now()
  const hour = Math.floor(now / HOUR_MS)
  const usage = ctx.usage.get(grant.clientId)
  const slot = usage && usage.hour === hour ? usage : { hour, count: 0 }
  ctx.usage.set(grant.clientId, slot)
  if (slot.count >= ctx.hourlyRateLimit) {
    ctx.stats.rateLimited++
    const retryAfter = Math.max(1, Math.ceil(((hour + 1) * HOUR_MS - now) / 1000))
    return sendJson(sim.res, 429, { error: 'rate_limited', message: `more than ${ctx.hourlyRateLimit} calls this hour` }, { 'retry-after': String(retryAfter) })
  }
  slot.count++

  // Data becomes visible only after the delay (dexcom-api.md §3.6); nothing exists before dataStart.
  const horizon = now - ctx.dataDelayMs
  const user = grant.user
  const envelope = (recordType: string, records: unknown[]) => ({
    recordType,
    recordVersion: '3.0',
    userId: userIdFor(grant.clientId, user),
    records,
  })
  // Newest first, as Dexcom lists records (clients must not depend on the order).
  const listed = <T>(make: (from: number, to: number) => T[]) => {
    const w = windowOf(sim)
    if (!w) return undefined
    const from = Math.max(w.start, ctx.dataStartMs)
    const to = Math.min(w.end, horizon + 1)
    return from < to ? make(from, to).reverse() : []
  }

  switch (endpoint) {
    case 'egvs': {
      const records = listed((a, b) => ctx.data.egvs(user, a, b))
      if (records) sendJson(sim.res, 200, envelope('egv', records))
      return
    }
    case 'events': {
      const records = listed((a, b) => ctx.data.events(user, a, b))
      if (records) sendJson(sim.res, 200, envelope('event', records))
      return
    }
    case 'calibrations': {
      const records = listed((a, b) => ctx.data.calibrations(user, a, b))
      if (records) sendJson(sim.res, 200, envelope('calibration', records))
      return
    }
    case 'alerts': {
      const records = listed((a, b) => ctx.data.alerts(user, a, b))
      if (records) sendJson(sim.res, 200, envelope('alert', records))
      return
    }
    case 'dataRange': {
      let from = ctx.dataStartMs
      const rawSince = sim.url.searchParams.get('lastSyncTime')
      if (rawSince !== null) {
        const since = parseQueryDate(rawSince)
        if (since === undefined) return badRequest(sim, 'lastSyncTime must look like 2025-02-06T09:12:35+00:00')
        from = Math.max(from, since + 1) // only data newer than lastSyncTime
      }
      const blocks = from <= horizon ? ctx.data.dataRange(user, from, horizon) : {}
      return sendJson(sim.res, 200, { recordType: 'dataRange', recordVersion: '3.0', userId: userIdFor(grant.clientId, user), ...blocks })
    }
    case 'devices': {
      // "There are no query parameters" (dexcom-api.md §3.1): any sent are ignored.
      const last = ctx.data.lastEgvTime(user, ctx.dataStartMs, horizon)
      const records = last === undefined ? [] : [deviceRecord(ctx, user, last)]
      return sendJson(sim.res, 200, envelope('device', records))
    }
  }
}

function deviceRecord(ctx: DataContext, user: DexcomSandboxUser, lastUpload: number) {
  const p = USER_PROFILES[user]
  const mobile = p.displayDevice !== 'receiver'
  const changedAt = ctx.dataStartMs
  const setting = (alertName: string, value: number, unit: string, snooze: number, enabled = true) => ({
    alertName,
    value,
    unit,
    snooze,
    enabled,
    systemTime: systemTime(changedAt),
    displayTime: displayTime(changedAt, p.utcOffsetMinutes, mobile),
    delay: 0,
    secondaryTriggerCondition: 0,
    soundTheme: 'modern',
    soundOutputMode: 'sound',
  })
  const one = p.variant === 'd1+'
  const alertSettings = [
    setting('high', 250, 'mg/dL', 120),
    setting('low', 70, 'mg/dL', 15),
    ...(one
      ? []
      : [setting('urgentLow', 55, 'mg/dL', 30), setting('urgentLowSoon', 55, 'mg/dL', 30), setting('rise', 3, 'mg/dL/min', 0, false), setting('fall', 3, 'mg/dL/min', 0, false)]),
    setting('outOfRange', 20, 'minutes', 20),
    setting('noReadings', 20, 'minutes', 20, false),
  ]
  return {
    lastUploadDate: systemTime(lastUpload),
    ...ctx.data.transmitterAt(user, lastUpload),
    displayDevice: p.displayDevice,
    displayApp: p.displayApp,
    alertSchedules: [
      {
        alertScheduleSettings: {
          alertScheduleName: 'Default',
          isEnabled: true,
          isDefaultSchedule: true,
          startTime: '00:00',
          endTime: '00:00',
          daysOfWeek: ['sunday', 'monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday'],
          isActive: true,
          override: { isOverrideEnabled: false, mode: 'quiet', endTime: systemTime(changedAt + 30 * MINUTE_MS) },
        },
        alertSettings,
      },
    ],
  }
}
