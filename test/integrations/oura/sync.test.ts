// The oura-sync logic against the Oura simulator on loopback (real HTTP, real SQLite): 90-day
// backfill through next_token pages, incremental with overlap, 429 Retry-After and the recorded
// next attempt, an unticked scope skipped and reported, a resumed run, faults (5xx, a malformed
// body, a slow answer) and access tokens expiring mid-backfill (single-use refresh tokens).
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { dirname } from 'node:path'
import t from 'tap'
import { startOuraSimulator, type OuraSandboxUser, type OuraSimulator } from '../../../src/integrations/oura/simulator.js'
import { readDaily } from '../../../src/integrations/oura/store.js'
import { BACKFILL_DAYS, pullOura } from '../../../src/integrations/oura/sync.js'
import { testConfig, testDeps, type Teardown, type TestDeps } from '../../support/deps.js'

const NOW = Date.UTC(2026, 10, 25, 12, 0, 0)
const SECRET = 'oura-client-secret-canary-91c2'

async function setup(t: Teardown, user: OuraSandboxUser, onRequest?: (r: { path: string; status: number }) => void): Promise<{ sim: OuraSimulator; deps: TestDeps }> {
  let now = () => NOW
  const sim = await startOuraSimulator({ clientId: 'oura-sim', clientSecret: SECRET, now: () => now(), ...(onRequest ? { onRequest } : {}) })
  t.teardown(() => sim.close())
  const config = testConfig(t, {
    providers: { 'oura-sandbox': { displayName: 'Oura Sandbox', authorizationUrl: `${sim.url}/oauth/authorize`, tokenUrl: `${sim.url}/oauth/token`, apiBaseUrl: sim.url, clientId: 'oura-sim', clientSecret: SECRET, rotation: 'single-use', usePkce: false } },
  })
  const deps = testDeps(t, { config, now: NOW })
  now = () => deps.clock.now()
  const set = sim.issueTokens(user)
  mkdirSync(dirname(config.authFile), { recursive: true, mode: 0o700 })
  const entry = { type: 'oauth', access: set.access_token, refresh: set.refresh_token, expires: NOW + 3_600_000, scope: set.scope, tokenType: 'bearer' }
  writeFileSync(config.authFile, JSON.stringify({ 'oura-sandbox': entry }), { mode: 0o600 })
  return { sim, deps }
}

const count = (deps: TestDeps, type: string) => deps.db.prepare('SELECT count(*) FROM oura_documents WHERE type = ?').pluck().get(type) as number

t.test('first run: 90 days of all five types through next_token pages; second run is incremental with overlap', async (t) => {
  const { sim, deps } = await setup(t, 'sleeper-ada')
  const first = await pullOura(deps, 'oura-sandbox')
  t.equal(first.status, 'synced')
  t.same(first.skipped, [])
  t.equal(count(deps, 'daily_sleep'), BACKFILL_DAYS + 1, 'one daily_sleep per day of the 90-day backfill (both ends inclusive)')
  t.ok(count(deps, 'sleep') > BACKFILL_DAYS, 'sleep periods, naps included')
  t.ok((deps.db.prepare('SELECT count(*) FROM oura_heartrate').pluck().get() as number) >= BACKFILL_DAYS * 288 - 1, 'heart rate every 5 minutes')
  t.ok(sim.requests.some((r) => r.query.next_token), 'pages were followed by next_token')
  const firstDaily = sim.requests.find((r) => r.path.endsWith('/daily_sleep'))
  t.equal(firstDaily?.query.start_date, '2026-08-27', 'backfill starts 90 days back')

  sim.requests.length = 0
  deps.clock.advance(86_400_000)
  const second = await pullOura(deps, 'oura-sandbox')
  t.equal(second.status, 'synced')
  t.equal(sim.requests.find((r) => r.path.endsWith('/daily_sleep'))?.query.start_date, '2026-11-23', 'incremental from the cursor less 2 days')
  t.equal(count(deps, 'daily_sleep'), BACKFILL_DAYS + 2, 'the overlap re-fetched days without duplicating them')
  const days = readDaily(deps.db, 'oura-sandbox', '2026-11-20')
  t.equal(days.length, 7)
  const last = days.at(-1)
  t.equal(last?.day, '2026-11-26')
  t.type(last?.sleepScore, 'number')
  t.type(last?.totalSleepSeconds, 'number')
  t.notOk(readFileSync(deps.config.authFile, 'utf8').includes(SECRET) || deps.logs.text().includes(SECRET), 'the client secret is nowhere it should not be')
})

t.test('a user who unticked heartrate: that stream is skipped and reported, the rest syncs', async (t) => {
  const { sim, deps } = await setup(t, 'no-heartrate-bo')
  const s = await pullOura(deps, 'oura-sandbox')
  t.equal(s.status, 'synced')
  t.same(s.skipped, ['heartrate'])
  t.notOk(sim.requests.some((r) => r.path.endsWith('/heartrate')), 'heartrate never requested')
  t.equal(deps.db.prepare("SELECT last_error FROM sync_state WHERE provider = 'oura-sandbox' AND stream = 'heartrate'").pluck().get(), 'scope_not_granted')
  t.ok(count(deps, 'daily_readiness') > 0)
})

t.test('429 with Retry-After is waited out as told; a long one ends the run and is recorded', async (t) => {
  const { sim, deps } = await setup(t, 'sleeper-ada')
  const waits: number[] = []
  sim.rateLimitNext(1, 3)
  const s = await pullOura(deps, 'oura-sandbox', { sleep: async (ms) => void waits.push(ms) })
  t.equal(s.status, 'synced')
  t.same(waits, [3000], 'waited the 3 s Retry-After once')
  sim.rateLimitNext(1, 600)
  const later = await pullOura(deps, 'oura-sandbox', { sleep: async (ms) => void waits.push(ms) })
  t.equal(later.status, 'rate_limited')
  t.equal(deps.db.prepare("SELECT next_attempt_at FROM sync_state WHERE provider = 'oura-sandbox' AND stream = 'daily_sleep'").pluck().get(), NOW + 600_000)
})

t.test('a run killed after some streams resumes: no duplicates, the same rows as one run', async (t) => {
  const { deps } = await setup(t, 'sleeper-ada')
  await pullOura(deps, 'oura-sandbox')
  const rows = deps.db.prepare('SELECT count(*) FROM oura_documents').pluck().get()
  // Forget the cursors of two streams, as if the run died before them.
  deps.db.prepare("DELETE FROM sync_state WHERE stream IN ('daily_activity', 'heartrate')").run()
  await pullOura(deps, 'oura-sandbox')
  t.equal(deps.db.prepare('SELECT count(*) FROM oura_documents').pluck().get(), rows, 'no duplicates after the resumed backfill')
})

const docCount = (deps: TestDeps) => deps.db.prepare('SELECT count(*) FROM oura_documents').pluck().get() as number
const hrCount = (deps: TestDeps) => deps.db.prepare('SELECT count(*) FROM oura_heartrate').pluck().get() as number

t.test('after a long 429 the next run waits for the recorded next attempt, then syncs', async (t) => {
  const { sim, deps } = await setup(t, 'sleeper-ada')
  sim.rateLimitNext(1, 600)
  t.equal((await pullOura(deps, 'oura-sandbox')).status, 'rate_limited')
  sim.requests.length = 0
  deps.clock.advance(599_000)
  const early = await pullOura(deps, 'oura-sandbox')
  t.equal(early.status, 'rate_limited', 'a run before next_attempt_at does nothing')
  t.match(early.error, /until 2026-11-25T12:10:00\.000Z/)
  t.same(sim.requests, [], 'and sends no request to Oura')
  deps.clock.advance(1_000)
  t.equal((await pullOura(deps, 'oura-sandbox')).status, 'synced', 'at next_attempt_at it runs')
  t.equal(count(deps, 'daily_sleep'), BACKFILL_DAYS + 1)
  t.equal(deps.db.prepare("SELECT count(*) FROM sync_state WHERE provider = 'oura-sandbox' AND next_attempt_at IS NOT NULL").pluck().get(), 0, 'the wait is cleared')
})

t.test('faults: a 5xx, a malformed body and a slow answer end the run with a clear error; the next run completes with nothing lost or doubled', async (t) => {
  const { sim, deps: clean } = await setup(t, 'sleeper-ada')
  await pullOura(clean, 'oura-sandbox')
  const expected = { docs: docCount(clean), hr: hrCount(clean) }

  const cases: [string, Parameters<OuraSimulator['injectFault']>[0], RegExp][] = [
    ['503', { match: 'daily_readiness', status: 503, times: 1 }, /^Oura answered HTTP 503 on \/v2\/usercollection\/daily_readiness$/],
    ['malformed', { match: 'daily_activity', status: 200, body: '{"data": [{"id": "x", ', times: 1 }, /^Oura's \/v2\/usercollection\/daily_activity answer is not JSON$/],
    ['no data array', { match: 'sleep', status: 200, body: { detail: 'odd' }, times: 1 }, /answer has no data array$/],
    ['slow', { match: 'heartrate', delayMs: 1_500, times: 1 }, /^could not reach Oura at 127\.0\.0\.1:\d+ \(ETIMEDOUT\)$/],
  ]
  for (const [name, fault, message] of cases) {
    const { sim: s, deps } = await setup(t, 'sleeper-ada')
    // A short request timeout, so that the slow answer is a timeout without a long test.
    const http = { ...deps.http, get: (url: string, o: Parameters<TestDeps['http']['get']>[1], l?: Parameters<TestDeps['http']['get']>[2]) => deps.http.get(url, { ...o, timeout: { request: 300 } }, l) }
    s.injectFault(fault)
    const failed = await pullOura({ ...deps, http }, 'oura-sandbox')
    t.equal(failed.status, 'failed', `${name}: the run fails`)
    t.match(failed.error, message, `${name}: with a clear error`)
    t.ok(deps.logs.text().includes('oura sync failed; the next run retries'), `${name}: logged`)
    const again = await pullOura(deps, 'oura-sandbox')
    t.equal(again.status, 'synced', `${name}: the next run completes`)
    t.same({ docs: docCount(deps), hr: hrCount(deps) }, expected, `${name}: the same rows as a run without the fault`)
    t.notOk(deps.logs.text().includes(SECRET), `${name}: no secret in the log`)
  }
  t.equal(sim.requests.filter((r) => r.status >= 500).length, 0)
})

t.test('access tokens expire twice mid-backfill: each is refreshed once (single-use refresh tokens), nothing lost, no duplicates', async (t) => {
  let dataRequests = 0
  let sim: OuraSimulator | undefined
  const { sim: s, deps } = await setup(t, 'sleeper-ada', (r) => {
    if (!r.path.startsWith('/v2/') || r.status !== 200) return
    dataRequests++
    if (dataRequests === 3 || dataRequests === 9) sim?.expireAccessTokens()
  })
  sim = s
  const before = JSON.parse(readFileSync(deps.config.authFile, 'utf8'))['oura-sandbox'] as { refresh: string }
  const summary = await pullOura(deps, 'oura-sandbox')
  t.equal(summary.status, 'synced')
  t.equal(s.requests.filter((r) => r.status === 401).length, 2, 'two requests met an expired token')
  t.same(s.requests.filter((r) => r.path === '/oauth/token').map((r) => r.status), [200, 200], 'two refreshes, each accepted: the second used the token the first returned')
  const after = JSON.parse(readFileSync(deps.config.authFile, 'utf8'))['oura-sandbox'] as { refresh: string }
  t.not(after.refresh, before.refresh, 'auth.json holds the latest refresh token')
  // Nothing lost: every day of the backfill, every collection, every heart-rate sample.
  const days = deps.db.prepare("SELECT count(DISTINCT day) FROM oura_documents WHERE type = 'daily_sleep'").pluck().get()
  t.equal(days, BACKFILL_DAYS + 1)
  const { deps: clean } = await setup(t, 'sleeper-ada')
  await pullOura(clean, 'oura-sandbox')
  t.same({ docs: docCount(deps), hr: hrCount(deps) }, { docs: docCount(clean), hr: hrCount(clean) }, 'the same rows as a run without expiry')
  const res = await fetch(s.tokenUrl, { method: 'POST', body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: before.refresh, client_id: 'oura-sim', client_secret: SECRET }) })
  t.equal(res.status, 400, 'the first refresh token was spent')
})
