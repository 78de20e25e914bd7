// The dexcom-sync job end to end against the Dexcom simulator on loopback (real HTTP, real
// SQLite, real token refreshes); the simulator shares the test's manual clock.
import { spawn } from 'node:child_process'
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import t from 'tap'
import { getConnection } from '../../../src/db/connections.js'
import { undeliveredOutbox } from '../../../src/db/outbox.js'
import { MAX_WINDOW_MS } from '../../../src/integrations/dexcom/client.js'
import { getSyncState } from '../../../src/integrations/dexcom/store.js'
import { SYNC_OVERLAP_MS, pullGlucose } from '../../../src/integrations/dexcom/sync.js'
import { parseQueryDate } from '../../../src/integrations/dexcom/simulator/index.js'
import { tempDir } from '../../support/deps.js'
import { CLIENT_SECRET, DAY, START, recordingSleep, referenceRecordIds, simSetup, storedRecordIds, writeTokens } from './harness.js'

const CHILD = fileURLToPath(new URL('./child-sync.ts', import.meta.url))
const HOUR = 3_600_000

function egvWindows(requests: { path: string; query: Record<string, string>; status: number }[]): { start: number; end: number; status: number }[] {
  return requests
    .filter((r) => r.path === '/v3/users/self/egvs')
    .map((r) => ({ start: parseQueryDate(r.query.startDate ?? '') as number, end: parseQueryDate(r.query.endDate ?? '') as number, status: r.status }))
}

function authEntry(path: string): { access: string; refresh: string } {
  return JSON.parse(readFileSync(path, 'utf8'))['dexcom-sandbox']
}

t.test('the first sync backfills 90 days in windows of at most 30 days; a rerun adds nothing; an hour later, one hour', async (t) => {
  const { sim, deps } = await simSetup(t)
  const first = await pullGlucose(deps)
  t.equal(first.status, 'synced')
  const windows = egvWindows(sim.requests)
  t.equal(windows.length, 3, '90 days → 3 windows')
  t.equal(windows[0]?.start, START - 90 * DAY, 'starts at the backfill floor (data exists from 100 days back)')
  for (const [i, w] of windows.entries()) {
    t.ok(w.end - w.start <= MAX_WINDOW_MS, `window ${i} is at most 30 days`)
    t.equal(w.status, 200)
    if (i > 0) t.equal(w.start, windows[i - 1]?.end, `window ${i} starts where the previous ended`)
  }
  const reference = await referenceRecordIds(t, deps, START - 90 * DAY, START)
  t.ok(reference.size > 25_000, `about 90 days of 5-minute readings (${reference.size})`)
  let stored = storedRecordIds(deps)
  t.equal(stored.rows, reference.size, 'every reading once')
  t.same([...reference].filter((id) => !stored.ids.has(id)), [], 'none missing')
  t.equal(first.egvs.added, reference.size)
  t.ok(first.events.added > 0, 'events too')
  t.equal(getSyncState(deps.db, 'dexcom-sandbox', 'egvs').cursorAt, windows[2]?.end, 'cursor at the end of the last window')

  const before = sim.requests.length
  const again = await pullGlucose(deps)
  t.equal(again.status, 'synced')
  t.equal(again.egvs.added, 0, 'a rerun adds nothing')
  t.ok(again.egvs.fetched > 0, 'yet it re-read the overlap')
  t.equal(storedRecordIds(deps).rows, reference.size)
  const rerunWindows = egvWindows(sim.requests.slice(before))
  t.equal(rerunWindows.length, 1)
  t.equal(rerunWindows[0]?.start, (windows[2]?.end as number) - SYNC_OVERLAP_MS, 'starts one overlap before the cursor')

  deps.clock.advance(HOUR)
  const hourLater = await pullGlucose(deps)
  const grown = await referenceRecordIds(t, deps, START - 90 * DAY, START + HOUR)
  t.equal(hourLater.egvs.added, grown.size - reference.size, 'exactly the new hour')
  t.ok(hourLater.egvs.added >= 11 && hourLater.egvs.added <= 13, `about 12 readings (${hourLater.egvs.added})`)
  stored = storedRecordIds(deps)
  t.equal(stored.rows, grown.size)
  t.equal(stored.ids.size, stored.rows)
})

t.test('the backfill reaches back no further than dexcom.backfillDays', async (t) => {
  const { sim, deps } = await simSetup(t, { dexcom: { backfillDays: 10 } })
  t.equal((await pullGlucose(deps)).status, 'synced')
  const windows = egvWindows(sim.requests)
  t.equal(windows.length, 1)
  t.equal(windows[0]?.start, START - 10 * DAY)
  const oldest = deps.db.prepare('SELECT min(system_time) FROM glucose_readings').pluck().get() as number
  t.ok(oldest >= START - 10 * DAY)
  t.equal(storedRecordIds(deps).rows, (await referenceRecordIds(t, deps, START - 10 * DAY, START)).size)
})

t.test('killed halfway (a real child process, twice) and rerun: nothing lost, nothing duplicated', async (t) => {
  const { sim, deps, raw } = await simSetup(t)
  const configFile = join(tempDir(t), 'config.json')
  writeFileSync(configFile, JSON.stringify(raw))
  // Slow every EGV window so that the kill lands while the child is mid-sync.
  sim.injectFault({ match: 'egvs', delayMs: 300 })
  const count = deps.db.prepare('SELECT count(*) FROM glucose_readings').pluck()

  const runChild = async (killWhen: () => Promise<void>) => {
    const child = spawn(process.execPath, ['--import', 'tsx', CHILD, configFile, String(START)], { stdio: ['ignore', 'pipe', 'pipe'] })
    let out = ''
    child.stdout.on('data', (c) => (out += c))
    child.stderr.on('data', (c) => (out += c))
    const exited = new Promise<NodeJS.Signals | null>((resolve) => child.once('exit', (_code, signal) => resolve(signal)))
    await killWhen()
    child.kill('SIGKILL')
    return { signal: await exited, out: () => out }
  }
  const poll = async (cond: () => boolean) => {
    for (let i = 0; !cond() && i < 6_000; i++) await new Promise((r) => setTimeout(r, 5))
  }

  // 1: killed just after its first window committed.
  const one = await runChild(() => poll(() => (count.get() as number) > 0))
  t.equal(one.signal, 'SIGKILL', 'the child was killed, not finished')
  const afterOne = count.get() as number
  t.ok(afterOne > 0 && afterOne < 25_000, `part of the data is stored (${afterOne})`)
  const cursor = getSyncState(deps.db, 'dexcom-sandbox', 'egvs').cursorAt as number
  const max = deps.db.prepare('SELECT max(system_time) FROM glucose_readings').pluck().get() as number
  t.ok(max < cursor, 'the cursor covers exactly what was committed')

  // 2: killed at an arbitrary moment of a second run (during a fetch, a parse or a transaction).
  const started = sim.requests.length
  const two = await runChild(() => poll(() => sim.requests.length >= started + 3).then(() => new Promise((r) => setTimeout(r, 150))))
  t.equal(two.signal, 'SIGKILL')
  const cursorTwo = getSyncState(deps.db, 'dexcom-sandbox', 'egvs').cursorAt as number
  t.ok(cursorTwo >= cursor, 'the cursor never moves back')

  // 3: a normal run finishes the job.
  sim.clearFaults()
  const done = await pullGlucose(deps)
  t.equal(done.status, 'synced')
  const reference = await referenceRecordIds(t, deps, START - 90 * DAY, START)
  const stored = storedRecordIds(deps)
  t.equal(stored.rows, reference.size, 'no duplicates: one row per reading')
  t.same([...reference].filter((id) => !stored.ids.has(id)), [], 'no reading lost')
  t.equal(deps.db.pragma('integrity_check', { simple: true }), 'ok')
})

t.test('401: one refresh, one retry, the rotated pair stored; no secret in the logs', async (t) => {
  const { sim, deps } = await simSetup(t, { dexcom: { backfillDays: 2 } })
  // A token the simulator never issued, though our records say it is valid for two hours.
  writeTokens(deps, sim, undefined, 'rejected-access-token-canary')
  const old = authEntry(deps.config.authFile)
  const summary = await pullGlucose(deps)
  t.equal(summary.status, 'synced')
  t.equal(sim.stats.refreshes, 1, 'exactly one refresh')
  const first = sim.requests.filter((r) => r.path.startsWith('/v3/'))
  t.same(first.slice(0, 2).map((r) => [r.path, r.status]), [['/v3/users/self/dataRange', 401], ['/v3/users/self/dataRange', 200]], '401 then the retry')
  const now = authEntry(deps.config.authFile)
  t.not(now.access, old.access)
  t.not(now.refresh, old.refresh, 'the single-use refresh token rotated')
  t.ok(storedRecordIds(deps).rows > 500)
  const logs = deps.logs.text()
  for (const secret of [old.access, old.refresh, now.access, now.refresh, CLIENT_SECRET]) t.notOk(logs.includes(secret), 'no token or secret in the logs')
})

t.test('a 401 that persists after the refresh fails the run without a refresh loop', async (t) => {
  const { sim, deps } = await simSetup(t, { dexcom: { backfillDays: 2 } })
  sim.injectFault({ match: 'dataRange', status: 401, times: 2 })
  const failed = await pullGlucose(deps)
  t.equal(failed.status, 'failed')
  t.match(failed.error, /refused a freshly renewed access token/)
  t.equal(sim.stats.refreshes, 1, 'one refresh, then it gives up')
  t.equal(storedRecordIds(deps).rows, 0)
  const ok = await pullGlucose(deps)
  t.equal(ok.status, 'synced', 'the next run works')
  t.equal(sim.stats.refreshes, 1, 'with the renewed token, no further refresh')
})

t.test('429 with a short Retry-After is waited out, then retried', async (t) => {
  const { sim, deps } = await simSetup(t, { dexcom: { backfillDays: 2 } })
  sim.injectFault({ match: 'egvs', status: 429, retryAfterSeconds: 7, times: 1 })
  const rs = recordingSleep(deps)
  const summary = await pullGlucose(deps, { sleep: rs.sleep })
  t.equal(summary.status, 'synced')
  t.same(rs.waits, [7_000], 'waited exactly as told')
  t.same(egvWindows(sim.requests).map((w) => w.status), [429, 200])
  t.equal(storedRecordIds(deps).rows, (await referenceRecordIds(t, deps, START - 2 * DAY, deps.clock.now())).size)
})

t.test('the hourly limit (429, Retry-After to the next hour) pauses the sync until then, keeping what was stored', async (t) => {
  const { sim, deps } = await simSetup(t, { sim: { hourlyRateLimit: 3 } })
  const rs = recordingSleep(deps)
  const limited = await pullGlucose(deps, { sleep: rs.sleep })
  t.equal(limited.status, 'rate_limited')
  t.match(limited.error, /rate limit/)
  t.same(rs.waits, [], 'an hour is not waited out in place')
  t.same(egvWindows(sim.requests).map((w) => w.status), [200, 200, 429], 'two windows came through, the third hit the limit')
  const stored = storedRecordIds(deps).rows
  t.ok(stored > 17_000, `the first two windows are kept (${stored})`)
  t.equal(limited.egvs.added, stored, 'and reported')
  t.equal(limited.egvs.windows, 2)
  t.equal(getSyncState(deps.db, 'dexcom-sandbox', 'egvs').nextAttemptAt, START + HOUR, 'next attempt at the next hour')

  const before = sim.requests.length
  deps.clock.advance(10 * 60_000)
  t.equal((await pullGlucose(deps, { sleep: rs.sleep })).status, 'rate_limited')
  t.equal(sim.requests.length, before, 'no request while waiting')

  // Each hour the budget allows a little more; the run picks up where the last one stopped.
  let hours = 0
  let status = 'rate_limited'
  while (status === 'rate_limited' && hours < 10) {
    deps.clock.set(START + ++hours * HOUR)
    status = (await pullGlucose(deps, { sleep: rs.sleep })).status
  }
  t.equal(status, 'synced', `synced after ${hours} hours`)
  t.ok(hours >= 2, 'three windows of EGVs and three of events at three calls an hour take more than one hour')
  const reference = await referenceRecordIds(t, deps, START - 90 * DAY, deps.clock.now())
  const all = storedRecordIds(deps)
  t.equal(all.rows, reference.size, 'no duplicates')
  t.same([...reference].filter((id) => !all.ids.has(id)), [], 'nothing lost')
  t.equal(getSyncState(deps.db, 'dexcom-sandbox', 'egvs').nextAttemptAt, null, 'the pause is cleared')
})

t.test('5xx and dropped connections are retried with backoff', async (t) => {
  const { sim, deps } = await simSetup(t, { dexcom: { backfillDays: 2 } })
  sim.injectFault({ match: 'egvs', status: 503, times: 2 })
  sim.injectFault({ match: 'events', status: 0, times: 1 })
  const rs = recordingSleep(deps)
  const summary = await pullGlucose(deps, { sleep: rs.sleep })
  t.equal(summary.status, 'synced')
  t.same(rs.waits, [1_000, 2_000, 1_000], 'egvs: 1 s, 2 s; events (dropped connection): 1 s')
  t.same(egvWindows(sim.requests).map((w) => w.status), [503, 503, 200])
  t.ok(storedRecordIds(deps).rows > 500)
})

t.test('a 5xx that persists fails the run, moves no cursor, and the next run catches up', async (t) => {
  const { sim, deps } = await simSetup(t, { dexcom: { backfillDays: 40 } })
  t.equal((await pullGlucose(deps)).status, 'synced')
  const cursor = getSyncState(deps.db, 'dexcom-sandbox', 'egvs').cursorAt
  const rows = storedRecordIds(deps).rows
  deps.clock.advance(6 * HOUR)
  sim.injectFault({ match: 'egvs', status: 500 })
  const rs = recordingSleep(deps)
  const failed = await pullGlucose(deps, { sleep: rs.sleep })
  t.equal(failed.status, 'failed')
  t.match(failed.error, /HTTP 500/)
  t.same(rs.waits, [1_000, 2_000, 4_000], 'three retries with doubling backoff')
  t.equal(getSyncState(deps.db, 'dexcom-sandbox', 'egvs').cursorAt, cursor, 'cursor unchanged')
  t.equal(getSyncState(deps.db, 'dexcom-sandbox', 'egvs').lastError, 'PROVIDER_BAD_RESPONSE')
  t.equal(storedRecordIds(deps).rows, rows)
  sim.clearFaults()
  t.equal((await pullGlucose(deps)).status, 'synced')
  t.equal(storedRecordIds(deps).rows, (await referenceRecordIds(t, deps, START - 40 * DAY, deps.clock.now())).size)
})

t.test('a revoked grant ends as needs_reauth, reported once, with no further requests', async (t) => {
  const { sim, deps } = await simSetup(t, { dexcom: { backfillDays: 2 } })
  t.equal((await pullGlucose(deps)).status, 'synced')
  sim.revokeAll()
  deps.clock.advance(HOUR)
  const revoked = await pullGlucose(deps)
  t.equal(revoked.status, 'needs_reauth')
  t.match(revoked.error, /needs reconnecting/)
  t.equal(getConnection(deps.db, 'dexcom-sandbox')?.status, 'needs_reauth')
  const before = sim.requests.length
  for (let i = 0; i < 5; i++) {
    deps.clock.advance(5 * 60_000)
    t.equal((await pullGlucose(deps)).status, 'needs_reauth')
  }
  t.equal(sim.requests.length, before, 'no request over the next five runs')
  t.equal(undeliveredOutbox(deps.db).filter((m) => m.kind === 'needs_reauth').length, 1, 'the user is told once')
  t.notOk(deps.logs.text().includes(CLIENT_SECRET))
})

t.test('not connected: the job does nothing', async (t) => {
  const { sim, deps } = await simSetup(t, { tokens: false })
  const summary = await pullGlucose(deps)
  t.equal(summary.status, 'not_connected')
  t.equal(sim.requests.length, 0)
})

t.test('a receiver account: zone-less timestamps are read as UTC', async (t) => {
  const { deps } = await simSetup(t, { user: 'SandboxUser3', dexcom: { backfillDays: 1 } })
  t.equal((await pullGlucose(deps)).status, 'synced')
  const row = deps.db.prepare('SELECT system_time, display_time, display_device FROM glucose_readings ORDER BY system_time DESC LIMIT 1').get() as {
    system_time: number
    display_time: string
    display_device: string
  }
  t.equal(row.display_device, 'receiver')
  t.match(row.display_time, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d$/, 'display time without offset, kept as sent')
  // SandboxUser3's receiver is at UTC−5: its wall clock, read as UTC, is five hours behind systemTime.
  t.equal(Date.parse(`${row.display_time}Z`) - row.system_time, -5 * HOUR)
  t.ok(row.system_time <= START - HOUR && row.system_time > START - 2 * HOUR, 'the newest reading is just past the one-hour delay')
})
