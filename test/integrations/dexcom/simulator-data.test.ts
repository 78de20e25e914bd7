// The simulator's data endpoints: checks (401, 400, 429), the data delay, the documented record
// shapes, determinism, 5-minute spacing, the 39/401 edge values and trends that agree with the
// reference's band table (written out again here, not imported from the simulator).
import t from 'tap'
import { SIM_CLIENT_ID, SIM_REDIRECT_URI, SIM_START, startTestDexcomSimulator, type TestDexcomSimulator } from '../../support/dexcom-simulator.js'
import type { DexcomSandboxUser } from '../../../src/integrations/dexcom/simulator/index.js'
import type { Teardown } from '../../support/deps.js'

type Json = Record<string, unknown>
type Egv = {
  recordId: string
  systemTime: string
  displayTime: string
  value: number
  status: string | null
  trend: string
  trendRate: number | null
  [k: string]: unknown
}

const HOUR = 3_600_000
const DAY = 24 * HOUR

/** `2026-11-25T12:00:00` (UTC, no zone) */
function q(ms: number): string {
  return new Date(ms).toISOString().slice(0, 19)
}

async function get(sim: TestDexcomSimulator, path: string, token: string | undefined) {
  const res = await fetch(`${sim.url}${path}`, { headers: token === undefined ? {} : { authorization: `Bearer ${token}` } })
  return { status: res.status, headers: res.headers, body: (await res.json()) as Json }
}

async function setup(t: Teardown, opts: Parameters<typeof startTestDexcomSimulator>[1] = {}, user: DexcomSandboxUser = 'SandboxUser7') {
  const sim = await startTestDexcomSimulator(t, opts)
  const token = sim.issueTokens({ clientId: SIM_CLIENT_ID, user }).access_token
  return { sim, token, get: (path: string) => get(sim, path, token) }
}

async function egvs(s: Awaited<ReturnType<typeof setup>>, from: number, to: number): Promise<Egv[]> {
  const res = await s.get(`/v3/users/self/egvs?startDate=${q(from)}&endDate=${q(to)}`)
  if (res.status !== 200) throw new Error(`egvs answered ${res.status}`)
  return res.body.records as Egv[]
}

/** dexcom-api.md §3.3, band by band. */
function expectedTrend(r: number): string {
  if (r >= 3 && r <= 8) return 'doubleUp'
  if (r >= 2 && r < 3) return 'singleUp'
  if (r >= 1 && r < 2) return 'fortyFiveUp'
  if (r > -1 && r < 1) return 'flat'
  if (r > -2 && r <= -1) return 'fortyFiveDown'
  if (r > -3 && r <= -2) return 'singleDown'
  if (r > -8 && r <= -3) return 'doubleDown'
  return 'rateOutOfRange'
}

const asUtc = (systemTime: string) => Date.parse(`${systemTime}Z`)

t.test('bearer check: missing, unknown and expired tokens → 401', async (t) => {
  const s = await setup(t)
  const path = `/v3/users/self/egvs?startDate=${q(SIM_START - DAY)}&endDate=${q(SIM_START)}`
  const none = await get(s.sim, path, undefined)
  t.equal(none.status, 401)
  t.equal(none.headers.get('www-authenticate'), 'Bearer error="invalid_token"')
  t.equal((await get(s.sim, path, 'not-a-token')).status, 401)
  t.equal((await s.get(path)).status, 200)
  s.sim.clock.advance(7200_000)
  t.equal((await s.get(path)).status, 401, 'expired after 7200 s')
  for (const endpoint of ['dataRange', 'devices', 'events', 'alerts', 'calibrations']) {
    t.equal((await get(s.sim, `/v3/users/self/${endpoint}`, undefined)).status, 401, `${endpoint} checks the bearer too`)
  }
})

t.test('parameters: required dates, formats and the 30-day window → 400 with a JSON error', async (t) => {
  const s = await setup(t)
  const bad = [
    ['no dates', ''],
    ['no endDate', `startDate=${q(SIM_START - DAY)}`],
    ['no startDate', `endDate=${q(SIM_START)}`],
    ['date only', 'startDate=2026-11-20&endDate=2026-11-21'],
    ['not ISO', 'startDate=11/20/2026&endDate=11/21/2026'],
    ['no such day', 'startDate=2026-02-30T00:00:00&endDate=2026-03-02T00:00:00'],
    ['end before start', `startDate=${q(SIM_START)}&endDate=${q(SIM_START - DAY)}`],
    ['31 days', `startDate=${q(SIM_START - 31 * DAY)}&endDate=${q(SIM_START)}`],
    ['30 days and a second', `startDate=${q(SIM_START - 30 * DAY - 1000)}&endDate=${q(SIM_START)}`],
  ]
  for (const endpoint of ['egvs', 'events', 'calibrations', 'alerts']) {
    for (const [name, query] of bad) {
      const res = await s.get(`/v3/users/self/${endpoint}?${query}`)
      t.equal(res.status, 400, `${endpoint}: ${name}`)
      t.equal(res.body.error, 'invalid_request', `${endpoint}: ${name}: a JSON error`)
    }
  }
  t.equal((await s.get(`/v3/users/self/egvs?startDate=${q(SIM_START - 30 * DAY)}&endDate=${q(SIM_START)}`)).status, 200, 'exactly 30 days is allowed')
  t.equal((await s.get('/v3/users/self/dataRange?lastSyncTime=yesterday')).status, 400, 'a bad lastSyncTime')
  t.equal((await s.get('/v3/users/self/nothing')).status, 404)
  const post = await fetch(`${s.sim.url}/v3/users/self/egvs`, { method: 'POST', headers: { authorization: `Bearer ${s.token}` } })
  t.equal(post.status, 405)
})

t.test('query dates: no zone is UTC; Z and offsets are normalised; unknown parameters ignored', async (t) => {
  const s = await setup(t)
  const base = await egvs(s, SIM_START - 3 * HOUR, SIM_START - 2 * HOUR)
  t.equal(base.length, 12, 'an hour holds 12 readings')
  const variants = [
    `startDate=${q(SIM_START - 3 * HOUR)}Z&endDate=${q(SIM_START - 2 * HOUR)}Z`,
    `startDate=${q(SIM_START - 2 * HOUR)}%2B01:00&endDate=${q(SIM_START - HOUR)}%2B01:00`,
    `startDate=${q(SIM_START - 3 * HOUR)}.000&endDate=${q(SIM_START - 2 * HOUR)}&unknownParam=1&limit=5`,
  ]
  for (const v of variants) {
    const res = await s.get(`/v3/users/self/egvs?${v}`)
    t.same(res.body.records, base, v)
  }
  const devices = await s.get(`/v3/users/self/devices?startDate=garbage&endDate=${q(SIM_START)}`)
  t.equal(devices.status, 200, 'devices takes no parameters and ignores any sent')
})

t.test('start inclusive, end exclusive', async (t) => {
  const s = await setup(t)
  const list = await egvs(s, SIM_START - 4 * HOUR, SIM_START - 2 * HOUR)
  const [newest, , middle] = list as [Egv, Egv, Egv]
  const at = asUtc(middle.systemTime)
  const window = await egvs(s, at, asUtc(newest.systemTime))
  t.equal(window.at(-1)?.systemTime, middle.systemTime, 'a record exactly at startDate is included')
  t.notOk(window.some((r) => r.systemTime === newest.systemTime), 'a record exactly at endDate is not')
})

t.test('hourly rate limit per app → 429 with Retry-After, then a new hour', async (t) => {
  const s = await setup(t, {
    hourlyRateLimit: 3,
    clients: [
      { clientId: SIM_CLIENT_ID, clientSecret: 'x', redirectUris: [SIM_REDIRECT_URI] },
      { clientId: 'other-app', clientSecret: 'y', redirectUris: [SIM_REDIRECT_URI] },
    ],
  })
  s.sim.clock.set(Date.UTC(2026, 10, 25, 12, 59, 30))
  for (let i = 0; i < 3; i++) t.equal((await s.get('/v3/users/self/devices')).status, 200, `call ${i + 1}`)
  const limited = await s.get('/v3/users/self/devices')
  t.equal(limited.status, 429)
  t.equal(limited.headers.get('retry-after'), '30', 'seconds until the next hour')
  t.equal(s.sim.stats.rateLimited, 1)
  const other = s.sim.issueTokens({ clientId: 'other-app' }).access_token
  t.equal((await get(s.sim, '/v3/users/self/devices', other)).status, 200, 'another app has its own budget')
  s.sim.clock.advance(30_000)
  t.equal((await s.get('/v3/users/self/devices')).status, 200, 'a new hour, a new budget')
})

t.test('data delay: nothing newer than now − delay; the horizon moves with the clock', async (t) => {
  const s = await setup(t)
  const recent = await egvs(s, SIM_START - 3 * HOUR, SIM_START)
  const newest = asUtc((recent[0] as Egv).systemTime)
  t.ok(newest <= SIM_START - HOUR, 'the default delay is 60 minutes')
  t.ok(newest > SIM_START - HOUR - 5 * 60_000, 'and the newest reading is right behind it')
  s.sim.clock.advance(HOUR)
  const later = await egvs(s, SIM_START - 3 * HOUR, SIM_START)
  t.equal(later.length, 36, 'an hour later the rest of that window is there')
  const instant = await setup(t, { dataDelayMinutes: 0 })
  const now = await egvs(instant, SIM_START - HOUR, SIM_START + HOUR)
  t.ok(asUtc((now[0] as Egv).systemTime) > SIM_START - 5 * 60_000, 'dataDelayMinutes: 0 serves up to now')
  t.ok(asUtc((now[0] as Egv).systemTime) <= SIM_START, 'never the future')
  const range = await s.get('/v3/users/self/dataRange')
  const end = range.body.egvs as { end: { systemTime: string } }
  t.equal(end.end.systemTime, later[0]?.systemTime, 'dataRange ends at the newest served reading')
})

t.test('EGV records: documented shape, 5-minute spacing, edge values, consistent trends', async (t) => {
  const s = await setup(t)
  const list = await egvs(s, SIM_START - 3 * DAY, SIM_START)
  t.ok(list.length > 3 * 288 - 60, `about 3 days of readings (${list.length})`)
  const res = await s.get(`/v3/users/self/egvs?startDate=${q(SIM_START - HOUR * 2)}&endDate=${q(SIM_START)}`)
  t.equal(res.body.recordType, 'egv')
  t.equal(res.body.recordVersion, '3.0')
  t.match(res.body.userId, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/)
  const keys = [
    'displayApp',
    'displayDevice',
    'displayTime',
    'rateUnit',
    'recordId',
    'status',
    'systemTime',
    'transmitterGeneration',
    'transmitterGenerationVariant',
    'transmitterId',
    'transmitterTicks',
    'trend',
    'trendRate',
    'unit',
    'value',
  ]
  let badShape = 0
  let badTrend = 0
  let badSpacing = 0
  let badEdge = 0
  let jumpy = 0
  const ids = new Set<string>()
  for (const [i, r] of list.entries()) {
    if (Object.keys(r).sort().join() !== keys.join()) badShape++
    if (!/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d$/.test(r.systemTime) || r.unit !== 'mg/dL' || r.rateUnit !== 'mg/dL/min' || !Number.isInteger(r.value)) badShape++
    if (r.displayTime !== `${q(asUtc(r.systemTime) - 8 * HOUR)}-08:00`) badShape++ // SandboxUser7: iOS at UTC−8
    ids.add(r.recordId)
    if (r.value === 39 ? r.status !== 'low' : r.value === 401 ? r.status !== 'high' : r.status !== null || r.value < 40 || r.value > 400) badEdge++
    if (r.trendRate !== null && r.trend !== expectedTrend(r.trendRate)) badTrend++
    if (r.trendRate === null && !['notComputable', 'none', 'rateOutOfRange', 'unknown'].includes(r.trend)) badTrend++
    const older = list[i + 1]
    if (older) {
      const gap = asUtc(r.systemTime) - asUtc(older.systemTime)
      if (gap <= 0 || gap % 300_000 !== 0) badSpacing++
      // Realistic: the change over 5 minutes agrees with the reported rates.
      if (gap === 300_000 && r.trendRate !== null && older.trendRate !== null) {
        const perMinute = (r.value - older.value) / 5
        if (Math.abs(perMinute - (r.trendRate + older.trendRate) / 2) > 1) jumpy++
      }
    }
  }
  t.equal(badShape, 0, 'every record has exactly the documented fields and forms')
  t.equal(ids.size, list.length, 'recordIds are unique')
  t.equal(badEdge, 0, '39 is "low", 401 is "high", everything else 40–400 with status null')
  t.equal(badTrend, 0, 'every trend agrees with its trendRate')
  t.equal(badSpacing, 0, 'newest first, 5 minutes apart (gaps are whole readings)')
  t.equal(jumpy, 0, 'values move as the rates say')
  t.ok(list.some((r) => r.value === 39), 'a "low" edge value (39) is present')
  t.ok(list.some((r) => r.value === 401), 'a "high" edge value (401) is present')
  const trends = new Set(list.map((r) => r.trend))
  for (const trend of ['flat', 'fortyFiveUp', 'singleUp', 'doubleUp', 'fortyFiveDown', 'singleDown']) t.ok(trends.has(trend), `the data shows ${trend}`)
})

t.test('determinism: same seed and clock → the same records; another seed → other records', async (t) => {
  const a = await setup(t, { seed: 'alpha' })
  const b = await setup(t, { seed: 'alpha' })
  const c = await setup(t, { seed: 'beta' })
  const [ra, rb, rc] = await Promise.all([a, b, c].map((s) => egvs(s, SIM_START - DAY, SIM_START)))
  t.same(rb, ra, 'identical, recordIds included')
  t.notSame(rc?.map((r) => r.value), ra?.map((r) => r.value), 'a different seed changes the data')
  const events = await Promise.all([a, b].map((s) => s.get(`/v3/users/self/events?startDate=${q(SIM_START - 7 * DAY)}&endDate=${q(SIM_START)}`)))
  t.same(events[1]?.body, events[0]?.body, 'events too')
})

t.test('userId: stable per user per client', async (t) => {
  const s = await setup(t, {
    clients: [
      { clientId: SIM_CLIENT_ID, clientSecret: 'x', redirectUris: [SIM_REDIRECT_URI] },
      { clientId: 'other-app', clientSecret: 'y', redirectUris: [SIM_REDIRECT_URI] },
    ],
  })
  const idOf = async (clientId: string, user: DexcomSandboxUser) => (await get(s.sim, '/v3/users/self/devices', s.sim.issueTokens({ clientId, user }).access_token)).body.userId
  const first = await idOf(SIM_CLIENT_ID, 'SandboxUser7')
  t.equal(await idOf(SIM_CLIENT_ID, 'SandboxUser7'), first, 'the same across tokens')
  t.equal(first, s.sim.userIdFor(SIM_CLIENT_ID, 'SandboxUser7'))
  t.not(await idOf('other-app', 'SandboxUser7'), first, 'another app sees another id')
  t.not(await idOf(SIM_CLIENT_ID, 'SandboxUser6'), first, 'another user, another id')
})

t.test('mobile records carry offsets, receiver records do not', async (t) => {
  const receiver = await setup(t, {}, 'SandboxUser3')
  const mobile = await setup(t, {}, 'SandboxUser1')
  const [r] = await egvs(receiver, SIM_START - 2 * HOUR, SIM_START)
  const [m] = await egvs(mobile, SIM_START - 2 * HOUR, SIM_START)
  t.equal(r?.displayDevice, 'receiver')
  t.match(r?.displayTime, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d$/, 'receiver displayTime: local, no offset')
  t.equal(r?.displayTime, q(asUtc(String(r?.systemTime)) - 5 * HOUR), 'UTC−5 wall clock')
  t.equal(r?.displayApp, null)
  t.equal(m?.displayDevice, 'iOS')
  t.match(m?.displayTime, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d-08:00$/, 'mobile displayTime carries its offset')
  t.equal(Date.parse(String(m?.displayTime)), asUtc(String(m?.systemTime)), 'and names the same instant')
  for (const rec of [r, m]) t.match(rec?.systemTime, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d$/, 'systemTime: UTC without offset')
})

t.test('dataRange, events, calibrations, alerts, devices', async (t) => {
  const s = await setup(t, { dataStartMs: SIM_START - 20 * DAY }, 'SandboxUser1')
  const range = await s.get('/v3/users/self/dataRange')
  t.equal(range.status, 200)
  t.equal(range.body.recordType, 'dataRange')
  t.equal(range.body.recordVersion, '3.0')
  const egvRange = range.body.egvs as { start: { systemTime: string; displayTime: string }; end: { systemTime: string } }
  const first = await egvs(s, SIM_START - 20 * DAY, SIM_START - 19 * DAY)
  t.equal(egvRange.start.systemTime, first.at(-1)?.systemTime, 'egvs.start is the oldest reading')
  t.equal(egvRange.start.displayTime, first.at(-1)?.displayTime)
  t.ok(asUtc(egvRange.start.systemTime) >= SIM_START - 20 * DAY, 'nothing before dataStartMs')
  t.ok(range.body.events && range.body.calibrations, 'events and calibrations blocks for a calibrating user')
  const since = await s.get(`/v3/users/self/dataRange?lastSyncTime=${q(SIM_START - 2 * DAY)}%2B00:00`)
  t.ok(asUtc((since.body.egvs as { start: { systemTime: string } }).start.systemTime) > SIM_START - 2 * DAY, 'lastSyncTime narrows the range')

  const window = `startDate=${q(SIM_START - 7 * DAY)}&endDate=${q(SIM_START)}`
  const events = (await s.get(`/v3/users/self/events?${window}`)).body
  t.equal(events.recordType, 'event')
  const records = events.records as Json[]
  t.ok(records.length > 7 * 6, 'meals, boluses and basal every day')
  const kinds = new Set(records.map((e) => e.eventType))
  for (const k of ['carbs', 'insulin']) t.ok(kinds.has(k), `has ${k} events`)
  t.ok(
    records.every((e) => typeof e.value === 'string' && ['created', 'updated', 'deleted'].includes(String(e.eventStatus))),
    'event values are strings; statuses from the enum',
  )
  t.ok(records.filter((e) => e.eventType === 'carbs').every((e) => e.unit === 'grams' && e.eventSubType === null), 'carbs in grams, no subtype')
  t.ok(records.filter((e) => e.eventType === 'insulin').every((e) => e.unit === 'units' && ['fastActing', 'longActing'].includes(String(e.eventSubType))), 'insulin in units')
  const cal = (await s.get(`/v3/users/self/calibrations?${window}`)).body
  t.equal(cal.recordType, 'calibration')
  t.ok((cal.records as Json[]).length >= 3, 'a calibration every other day')
  t.ok((cal.records as Json[]).every((c) => Number.isInteger(c.value) && c.unit === 'mg/dL'))
  const alerts = (await s.get(`/v3/users/self/alerts?${window}`)).body
  t.equal(alerts.recordType, 'alert')
  const names = new Set((alerts.records as Json[]).map((a) => a.alertName))
  for (const n of ['high', 'low', 'urgentLow']) t.ok(names.has(n), `a ${n} alert`)
  t.ok((alerts.records as Json[]).every((a) => a.alertState === 'activeAlarming'))

  const devices = (await s.get('/v3/users/self/devices')).body
  t.equal(devices.recordType, 'device')
  const [device] = devices.records as Json[]
  t.equal(device?.lastUploadDate, (await egvs(s, SIM_START - DAY, SIM_START))[0]?.systemTime, 'lastUploadDate: the newest reading')
  t.same(Object.keys(device ?? {}).sort(), ['alertSchedules', 'displayApp', 'displayDevice', 'lastUploadDate', 'transmitterGeneration', 'transmitterGenerationVariant', 'transmitterId'])
  const schedule = (device?.alertSchedules as Json[])[0] as { alertScheduleSettings: Json; alertSettings: Json[] }
  t.equal(schedule.alertScheduleSettings.isDefaultSchedule, true)
  t.ok(schedule.alertSettings.some((a) => a.alertName === 'high' && a.value === 250 && a.unit === 'mg/dL'))

  const one = await setup(t, {}, 'SandboxUser4')
  t.same((await one.get(`/v3/users/self/events?${window}`)).body.records, [], 'Dexcom ONE: no events')
  t.same((await one.get(`/v3/users/self/calibrations?${window}`)).body.records, [], 'Dexcom ONE: no calibrations')
  const oneRange = (await one.get('/v3/users/self/dataRange')).body
  t.ok(oneRange.egvs, 'ONE has EGVs')
  t.notOk('events' in oneRange || 'calibrations' in oneRange, 'and no events/calibrations blocks')
})

t.test('faults on data: 503 once, 429 with Retry-After', async (t) => {
  const s = await setup(t)
  s.sim.injectFault({ match: 'egvs', status: 503, times: 1 })
  s.sim.injectFault({ match: 'data', status: 429, retryAfterSeconds: 3, times: 1 })
  const path = `/v3/users/self/egvs?startDate=${q(SIM_START - DAY)}&endDate=${q(SIM_START)}`
  t.equal((await s.get(path)).status, 503)
  const limited = await s.get('/v3/users/self/devices')
  t.equal(limited.status, 429)
  t.equal(limited.headers.get('retry-after'), '3')
  t.equal((await s.get(path)).status, 200)
  t.equal(s.sim.stats.rateLimited, 0, 'injected 429s are not counted as the hourly limit')
  s.sim.injectFault({ match: 'devices', delayMs: 20, times: 1 })
  t.equal((await s.get('/v3/users/self/devices')).status, 200, 'a slow reply without a status still answers normally')
  t.same(s.sim.faults.rules, [], 'every one-shot rule was spent')
})
