// The freshness rules on the seam: Dexcom (no reading for 3 h past its delay) and Oura (no sleep
// for last night by noon in the user's time zone), what `latchkey status` says, and the chat
// notice: one a day per provider, delivered through the loopback Bot API server. Manual clock,
// real SQLite and auth.json.
import { mkdirSync, writeFileSync } from 'node:fs'
import { dirname } from 'node:path'
import { Api } from 'grammy'
import t from 'tap'
import { deliverOutbox } from '../../src/bot/outbox.js'
import { statusCommand, type StatusRow } from '../../src/cli/status.js'
import { upsertConsent } from '../../src/db/connections.js'
import { lastRunStartedAt, recordIntegrationRun } from '../../src/db/integration-runs.js'
import { queueStaleNotices, staleData } from '../../src/integrations/freshness.js'
import { INTEGRATIONS } from '../../src/integrations/index.js'
import { runIntegrationSync } from '../../src/integrations/run.js'
import { defineIntegration } from '../../src/integrations/types.js'
import { upsertReadings } from '../../src/integrations/dexcom/store.js'
import { upsertDocuments } from '../../src/integrations/oura/store.js'
import { TEST_BOT_TOKEN, startBotApiServer } from '../support/bot-api-server.js'
import { testConfig, testDeps, type TestDeps } from '../support/deps.js'

const H = 3_600_000
const NOW = Date.UTC(2026, 10, 25, 12, 0, 0)
const egv = (systemTime: number) => ({ recordId: `r${systemTime}`, systemTime, displayTime: null, value: 110, status: null, trend: 'flat', trendRate: null, unit: 'mg/dL', rateUnit: null, displayDevice: null, displayApp: null, transmitterId: null, transmitterTicks: null, transmitterGeneration: null, transmitterGenerationVariant: null })

function connect(deps: TestDeps, provider: string, integration: string, at: number): void {
  upsertConsent(deps.db, { provider, now: at, requestedScopes: [], grantedScopes: null })
  recordIntegrationRun(deps.db, integration, at, at + 1000) // its first sync has run
  const auth = { [provider]: { type: 'oauth', access: 'TOKEN-a', refresh: 'TOKEN-r', expires: at + 1000 * H } }
  mkdirSync(dirname(deps.config.authFile), { recursive: true })
  writeFileSync(deps.config.authFile, JSON.stringify(auth))
}

t.test('Dexcom: late once no reading came for its delay + 3 h; status says so without changing the exit code', async (t) => {
  const deps = testDeps(t, { config: testConfig(t, { dexcom: { provider: 'dexcom-sandbox' } }), now: NOW })
  connect(deps, 'dexcom-sandbox', 'dexcom', NOW - 48 * H)
  upsertReadings(deps.db, 'dexcom-sandbox', [egv(NOW - 6 * H)], NOW)
  t.same(staleData(deps, INTEGRATIONS, NOW, 'UTC'), [], 'a reading 6 h old: 3 h delay + 3 h, not late yet')
  deps.clock.advance(11 * 60_000)
  const late = staleData(deps, INTEGRATIONS, deps.clock.now(), 'UTC')
  t.same(late, [{ provider: 'dexcom-sandbox', integration: 'dexcom', text: 'No new Dexcom reading for 6 h 11 min: Dexcom sends readings up to 3 h late, and this is 3 h past that. Check that the sensor is on and the Dexcom app is running and online.' }])

  const lines: string[] = []
  t.equal(await statusCommand(deps, { info: (l) => lines.push(l), error: (l) => lines.push(l) }, { timeZone: 'UTC' }), 0, 'exit 0: the connection itself is fine')
  t.match(lines.join('\n'), /^dexcom-sandbox {2}✓ connected\n(.*\n){2}  data late: No new Dexcom reading for 6 h 11 min: /)
  const json: string[] = []
  await statusCommand(deps, { info: (l) => json.push(l), error: () => {} }, { json: true, timeZone: 'UTC' })
  t.match((JSON.parse(json.join('')) as StatusRow[])[0], { provider: 'dexcom-sandbox', needsAttention: false, dataLate: /^No new Dexcom reading for 6 h 11 min/ })

  upsertReadings(deps.db, 'dexcom-sandbox', [egv(deps.clock.now() - 3 * H)], deps.clock.now())
  t.same(staleData(deps, INTEGRATIONS, deps.clock.now(), 'UTC'), [], 'a new reading: fresh again')
})

t.test('Dexcom: connected with no reading at all counts from the consent; never late before its first sync ended', async (t) => {
  const deps = testDeps(t, { config: testConfig(t, { dexcom: { provider: 'dexcom-sandbox', dataDelayMinutes: 60 } }), now: NOW })
  upsertConsent(deps.db, { provider: 'dexcom-sandbox', now: NOW - 5 * H, requestedScopes: [], grantedScopes: null })
  t.same(staleData(deps, INTEGRATIONS, NOW, 'UTC'), [], 'first sync not finished: nothing to judge')
  recordIntegrationRun(deps.db, 'dexcom', NOW - 5 * H, NOW - 5 * H + 1000)
  t.match(staleData(deps, INTEGRATIONS, NOW, 'UTC'), [{ text: /^No Dexcom reading has come since connecting \(5 h 0 min ago\): Dexcom sends readings up to 1 h late/ }], 'the 1 h delay is the configured one')
})

t.test('Oura: no sleep for last night by noon in the user time zone (not UTC)', async (t) => {
  const config = testConfig(t, { providers: { 'oura-sandbox': { displayName: 'Oura Sandbox', authorizationUrl: 'http://127.0.0.1:9/a', tokenUrl: 'http://127.0.0.1:9/t', apiBaseUrl: 'http://127.0.0.1:9', clientId: 'o', clientSecret: 's' } } })
  // 2026-11-25 23:00 UTC is 2026-11-26 12:00 in Auckland (UTC+13).
  const noon = Date.UTC(2026, 10, 25, 23, 0, 0)
  const deps = testDeps(t, { config, now: noon - 60_000 })
  connect(deps, 'oura-sandbox', 'oura', noon - 72 * H)
  upsertDocuments(deps.db, 'oura-sandbox', 'sleep', [{ id: 'a', day: '2026-11-25', type: 'long_sleep' }], noon)
  t.same(staleData(deps, INTEGRATIONS, noon - 60_000, 'Pacific/Auckland'), [], '11:59 in Auckland: not yet')
  const late = staleData(deps, INTEGRATIONS, noon, 'Pacific/Auckland')
  t.same(late, [{ provider: 'oura-sandbox', integration: 'oura', text: 'No Oura sleep for last night (2026-11-26) yet, and it is past noon. Oura sends it once the ring has synced with the Oura app: open the app on your phone.' }], 'noon in Auckland: the UTC day’s night does not count')
  t.same(staleData(deps, INTEGRATIONS, noon, 'UTC'), [], 'in UTC it is 23:00 on the 25th, and that night is there')
  upsertDocuments(deps.db, 'oura-sandbox', 'sleep', [{ id: 'nap', day: '2026-11-26', type: 'late_nap' }], noon)
  t.equal(staleData(deps, INTEGRATIONS, noon, 'Pacific/Auckland').length, 1, 'a nap is not last night')
  upsertDocuments(deps.db, 'oura-sandbox', 'daily_sleep', [{ id: 'ds', day: '2026-11-26', score: 80 }], noon)
  t.same(staleData(deps, INTEGRATIONS, noon, 'Pacific/Auckland'), [], 'the daily sleep of today: fresh')
})

t.test('one chat notice a day: a second check the same day sends nothing, the next day sends again', async (t) => {
  const tg = await startBotApiServer(t)
  const api = new Api(TEST_BOT_TOKEN, { apiRoot: tg.apiRoot })
  const USER = 4242
  const deps = testDeps(t, { config: testConfig(t, { dexcom: { provider: 'dexcom-sandbox' } }), now: NOW })
  connect(deps, 'dexcom-sandbox', 'dexcom', NOW - 48 * H)
  upsertReadings(deps.db, 'dexcom-sandbox', [egv(NOW - 7 * H)], NOW)
  const sent = () => tg.requests.filter((r) => r.method === 'sendMessage').map((r) => String(r.payload.text))
  const check = async () => {
    const queued = queueStaleNotices(deps, INTEGRATIONS, 'Europe/Berlin')
    await deliverOutbox(deps, api, [USER])
    return queued
  }

  t.equal(await check(), 1, 'late: one notice queued')
  t.same(sent(), ['⚠️ No new Dexcom reading for 7 h 0 min: Dexcom sends readings up to 3 h late, and this is 3 h past that. Check that the sensor is on and the Dexcom app is running and online.'], 'and sent to the user')
  t.equal(tg.requests.find((r) => r.method === 'sendMessage')?.payload.chat_id, USER)
  deps.clock.advance(5 * 60_000)
  t.equal(await check(), 0, 'the next sync run 5 min later: nothing')
  deps.clock.set(Date.UTC(2026, 10, 25, 22, 59, 0)) // 23:59 in Berlin
  t.equal(await check(), 0, 'still the same day in Berlin: nothing')
  t.equal(sent().length, 1)
  deps.clock.set(Date.UTC(2026, 10, 25, 23, 0, 0)) // midnight in Berlin (still the 25th in UTC)
  t.equal(await check(), 1, 'the next day in Berlin: one more')
  t.equal(sent().length, 2)
  t.match(sent()[1], /^⚠️ No new Dexcom reading for 18 h 0 min/)
  t.equal(await check(), 0, 'and again only one that day')
  deps.clock.advance(24 * H)
  upsertReadings(deps.db, 'dexcom-sandbox', [egv(deps.clock.now() - H)], deps.clock.now())
  t.equal(await check(), 0, 'fresh data: no notice the day after')
  t.notMatch(JSON.stringify(tg.requests), 'TOKEN-', 'no token reaches the chat')
})

t.test('a sync run as the job runs it: recorded whatever its outcome, then its freshness rule queues the notice', async (t) => {
  const deps = testDeps(t, { now: NOW })
  let fail = false
  const pulse = defineIntegration({
    id: 'pulse',
    moduleUrl: import.meta.url,
    schema: '',
    providerIds: () => ['acme'],
    syncIntervalMs: () => H,
    sync: async () => {
      deps.clock.advance(1000)
      if (fail) throw new Error('boom')
      return { ok: true }
    },
    freshness: () => [{ provider: 'acme', text: 'acme is quiet' }],
  })
  upsertConsent(deps.db, { provider: 'acme', now: NOW, requestedScopes: [], grantedScopes: null })
  t.same(await runIntegrationSync(deps, pulse, 'UTC'), { ok: true })
  t.equal(lastRunStartedAt(deps.db, 'pulse'), NOW, 'the run is recorded with its start')
  t.same(deps.db.prepare("SELECT kind, provider, text FROM outbox").all(), [{ kind: 'data_stale', provider: 'acme', text: '⚠️ acme is quiet' }], 'late data: one notice')
  fail = true
  await t.rejects(runIntegrationSync(deps, pulse, 'UTC'), { message: 'boom' }, 'a failed run still throws')
  t.equal(lastRunStartedAt(deps.db, 'pulse'), NOW + 1000, 'and is recorded')
  t.equal(deps.db.prepare('SELECT count(*) FROM outbox').pluck().get(), 1, 'no second notice that day')
})
