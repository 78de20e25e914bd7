// `latchkey oura daily` (contract, issue 13 item 4) as a user runs it: the built bin as a child
// process, on a SQLite file filled by a real sync from the Oura simulator on loopback. The
// expected rows are computed from the simulator's documents, not from our store.
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { systemClock } from '../../../src/clock.js'
import { loadConfig } from '../../../src/config.js'
import { createDeps } from '../../../src/deps.js'
import { createLogger } from '../../../src/log.js'
import { documentsFor, startOuraSimulator, type OuraSandboxUser } from '../../../src/integrations/oura/simulator.js'
import { pullOura } from '../../../src/integrations/oura/sync.js'
import { runLatchkey } from '../../support/child-daemon.js'
import { logCapture, tempDir } from '../../support/deps.js'

const DAY_MS = 86_400_000
const KEYS = ['day', 'sleepScore', 'readinessScore', 'activityScore', 'totalSleepSeconds', 'steps']
// forgetful-cy leaves the ring off every fifth day; some nights have a late nap, some days no activity score.
const USER: OuraSandboxUser = 'forgetful-cy'

const latchkey = (env: Record<string, string>, ...args: string[]) => runLatchkey(env, args)

/** What `oura daily` must print for the days from `sinceMs`, straight from the simulator's documents. */
function expected(sinceMs: number, now: number): Record<string, unknown>[] {
  const rows = []
  for (let d = Math.floor(sinceMs / DAY_MS) * DAY_MS; d <= now; d += DAY_MS) {
    const one = (type: string) => documentsFor(USER, type, d)[0]
    const sleep = one('daily_sleep')
    const ready = one('daily_readiness')
    const act = one('daily_activity')
    const long = documentsFor(USER, 'sleep', d).find((p) => p.type === 'long_sleep')
    if (!sleep && !ready && !act && !long) continue
    rows.push({ day: new Date(d).toISOString().slice(0, 10), sleepScore: sleep?.score ?? null, readinessScore: ready?.score ?? null, activityScore: act?.score ?? null, totalSleepSeconds: long?.total_sleep_duration ?? null, steps: act?.steps ?? null })
  }
  return rows
}

t.test('oura daily --json / --csv / bad --since, after a real sync from the simulator', async (t) => {
  const dir = tempDir(t)
  const sim = await startOuraSimulator({ clientId: 'oura-sim', clientSecret: 'oura-sim-secret' })
  t.teardown(() => sim.close())
  const configPath = join(dir, 'config.json')
  const authFile = join(dir, 'agent', 'auth.json')
  writeFileSync(configPath, JSON.stringify({
    dataDir: join(dir, 'data'),
    authFile,
    providers: { 'oura-sandbox': { displayName: 'Oura Sandbox', authorizationUrl: `${sim.url}/oauth/authorize`, tokenUrl: `${sim.url}/oauth/token`, apiBaseUrl: sim.url, clientId: 'oura-sim', clientSecret: 'oura-sim-secret', rotation: 'single-use', usePkce: false } },
  }))
  const env = { LATCHKEY_CONFIG: configPath, HOME: dir }
  const set = sim.issueTokens(USER)
  mkdirSync(join(dir, 'agent'), { recursive: true, mode: 0o700 })
  writeFileSync(authFile, JSON.stringify({ 'oura-sandbox': { type: 'oauth', access: set.access_token, refresh: set.refresh_token, expires: Date.now() + 3_600_000, scope: set.scope, tokenType: 'bearer' } }), { mode: 0o600 })

  const deps = createDeps(loadConfig(env), { clock: systemClock, log: createLogger('debug', logCapture().stream) })
  const summary = await pullOura(deps, 'oura-sandbox')
  deps.db.close()
  t.equal(summary.status, 'synced', 'the sync filled the database')

  const week = await latchkey(env, 'oura', 'daily', '--since', '7d', '--json')
  t.equal(week.code, 0, week.stderr)
  const rows = JSON.parse(week.stdout) as Record<string, unknown>[]
  t.ok(Array.isArray(rows) && rows.length >= 5, 'an array with the days of the last week')
  for (const r of rows) t.same(Object.keys(r), KEYS, `${String(r.day)} has exactly the contract's keys`)
  t.same(rows, expected(Date.now() - 7 * DAY_MS, Date.now()), 'one object per day with data, values as Oura sent them')

  // A month: ring-off days, late naps and days without an activity score are all in it.
  const month = await latchkey(env, 'oura', 'daily', '--since', '30d', '--json')
  t.equal(month.code, 0, month.stderr)
  const monthRows = JSON.parse(month.stdout) as Record<string, unknown>[]
  const want = expected(Date.now() - 30 * DAY_MS, Date.now())
  t.same(monthRows, want)
  t.ok(want.length < 31, 'days without the ring are absent')
  const napDays = want.filter((r) => documentsFor(USER, 'sleep', Date.parse(`${String(r.day)}T00:00:00Z`)).length > 1)
  t.ok(napDays.length > 0, 'the month has a day with a nap')
  for (const r of napDays) {
    const periods = documentsFor(USER, 'sleep', Date.parse(`${String(r.day)}T00:00:00Z`))
    t.equal(r.totalSleepSeconds, periods.find((p) => p.type === 'long_sleep')?.total_sleep_duration, `${String(r.day)}: the long sleep only, the nap not summed in`)
  }
  t.notOk(monthRows.some((r) => Object.values(r).includes(0)), 'no value is 0 (missing is null)')

  const csv = await latchkey(env, 'oura', 'daily', '--since', '7d', '--csv')
  t.equal(csv.code, 0, csv.stderr)
  const lines = csv.stdout.trimEnd().split('\n')
  t.equal(lines[0], 'day,sleepScore,readinessScore,activityScore,totalSleepSeconds,steps', 'a header with the same columns')
  t.same(lines.slice(1), rows.map((r) => KEYS.map((k) => r[k] ?? '').join(',')), 'one line per JSON object, null as an empty field')

  const bad = await latchkey(env, 'oura', 'daily', '--since', 'last tuesday', '--json')
  t.equal(bad.code, 2, 'a bad --since is a usage error')
  t.match(bad.stderr, /--since/)
  t.match(bad.stderr, /7d/, 'the error says what would parse')
  t.equal(bad.stdout, '', 'nothing printed as data')
})
