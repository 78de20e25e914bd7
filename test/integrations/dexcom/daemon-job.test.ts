// The dexcom-sync job as the daemon schedules it: a Bree worker (through the tsx shim) pulls
// from the simulator into the daemon's SQLite file, at start-up and then every syncIntervalMs.
import { mkdirSync, writeFileSync } from 'node:fs'
import { dirname } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import t from 'tap'
import { getSyncState } from '../../../src/integrations/dexcom/store.js'
import { startDexcomSimulator } from '../../../src/integrations/dexcom/simulator/index.js'
import { startTestDaemon } from '../../support/daemon.js'
import { testConfig } from '../../support/deps.js'

t.test('the daemon runs dexcom-sync at start and on its interval', async (t) => {
  const redirectUri = testConfig(t).redirectUri
  const sim = await startDexcomSimulator({ clients: [{ clientId: 'c', clientSecret: 'client-secret-canary', redirectUris: [redirectUri] }] })
  t.teardown(() => sim.close())
  const tokens = sim.issueTokens({ clientId: 'c' })
  const config = testConfig(t)
  mkdirSync(dirname(config.authFile), { recursive: true })
  writeFileSync(config.authFile, JSON.stringify({ 'dexcom-sandbox': { type: 'oauth', access: tokens.access_token, refresh: tokens.refresh_token, expires: Date.now() + 7_200_000 } }))
  const d = await startTestDaemon(t, {
    authFile: config.authFile,
    providers: { 'dexcom-sandbox': { authorizationUrl: sim.authorizationUrl, tokenUrl: sim.tokenUrl, apiBaseUrl: sim.url, clientId: 'c', clientSecret: 'client-secret-canary' } },
    dexcom: { provider: 'dexcom-sandbox', backfillDays: 3, syncIntervalMs: 1_000 },
  })
  const db = d.daemon.deps.db
  const count = db.prepare('SELECT count(*) FROM glucose_readings').pluck()
  for (let i = 0; (count.get() as number) === 0 && i < 300; i++) await sleep(50)
  const first = count.get() as number
  t.ok(first > 3 * 280, `three days of readings arrived (${first})`)
  const lastSuccess = getSyncState(db, 'dexcom-sandbox', 'egvs').lastSuccessAt as number
  for (let i = 0; (getSyncState(db, 'dexcom-sandbox', 'egvs').lastSuccessAt ?? 0) === lastSuccess && i < 300; i++) await sleep(50)
  t.ok((getSyncState(db, 'dexcom-sandbox', 'egvs').lastSuccessAt as number) > lastSuccess, 'it ran again on its interval')
  t.equal(count.get(), db.prepare('SELECT count(DISTINCT record_id) FROM glucose_readings').pluck().get(), 'no duplicates')
  t.match(d.logs.text(), /dexcom sync done/)
  t.notOk(d.logs.text().includes(tokens.access_token) || d.logs.text().includes('client-secret-canary'), 'no secret in the daemon log')
})
