// Dexcom's nightly backups make refreshes fail, even with invalid_grant (dexcom-api.md §4).
// Inside the window that is transient: the connection is kept and retried after it; outside
// it, invalid_grant still means "needs reconnecting". Against the simulator's refresh outage.
import { mkdirSync, writeFileSync } from 'node:fs'
import { dirname } from 'node:path'
import t from 'tap'
import { getConnection } from '../../../src/db/connections.js'
import { undeliveredOutbox } from '../../../src/db/outbox.js'
import { startDexcomSimulator } from '../../../src/integrations/dexcom/simulator/index.js'
import { inDailyWindow, nextWindowEnd } from '../../../src/oauth/refresh-policy.js'
import { TokenSource } from '../../../src/oauth/refresh.js'
import { testConfig, testDeps } from '../../support/deps.js'

const at = (iso: string) => Date.parse(iso)

t.test('daily windows, wrapping midnight too', async (t) => {
  const w = { start: '02:45', end: '03:45' }
  t.notOk(inDailyWindow(at('2026-11-25T02:44:59Z'), w))
  t.ok(inDailyWindow(at('2026-11-25T02:45:00Z'), w))
  t.ok(inDailyWindow(at('2026-11-25T03:44:59Z'), w))
  t.notOk(inDailyWindow(at('2026-11-25T03:45:00Z'), w))
  const wrap = { start: '23:30', end: '00:30' }
  t.ok(inDailyWindow(at('2026-11-25T23:45:00Z'), wrap))
  t.ok(inDailyWindow(at('2026-11-26T00:10:00Z'), wrap))
  t.notOk(inDailyWindow(at('2026-11-26T12:00:00Z'), wrap))
  t.equal(nextWindowEnd(at('2026-11-25T03:00:00Z'), w), at('2026-11-25T03:45:00Z'))
  t.equal(nextWindowEnd(at('2026-11-25T23:45:00Z'), wrap), at('2026-11-26T00:30:00Z'))
})

t.test('invalid_grant during the nightly outage is retried after it, not reported as revoked', async (t) => {
  const config0 = testConfig(t)
  const deps0Clock = { now: at('2026-11-25T02:50:00Z') }
  const sim = await startDexcomSimulator({
    clients: [{ clientId: 'mw', clientSecret: 'mw-secret', redirectUris: [config0.redirectUri] }],
    now: () => deps0Clock.now,
    faults: { refreshOutage: { start: '02:45', end: '03:45', kind: 'invalid_grant' } },
  })
  t.teardown(() => sim.close())
  const config = testConfig(t, {
    providers: { 'dexcom-sandbox': { authorizationUrl: sim.authorizationUrl, tokenUrl: sim.tokenUrl, apiBaseUrl: sim.url, clientId: 'mw', clientSecret: 'mw-secret' } },
    dexcom: { provider: 'dexcom-sandbox' },
  })
  const deps = testDeps(t, { config, now: deps0Clock.now })
  const tokens = sim.issueTokens({ clientId: 'mw' })
  mkdirSync(dirname(config.authFile), { recursive: true })
  writeFileSync(config.authFile, JSON.stringify({ 'dexcom-sandbox': { type: 'oauth', access: tokens.access_token, refresh: tokens.refresh_token, expires: deps.clock.now() - 1000 } }), { mode: 0o600 })
  const source = new TokenSource(deps)

  await t.rejects(source.getAccessToken('dexcom-sandbox'), { code: 'PROVIDER_UNREACHABLE' }, 'inside the window: a transient failure')
  const failing = getConnection(deps.db, 'dexcom-sandbox')
  t.equal(failing?.status, 'failing', 'not needs_reauth')
  t.equal(failing?.lastError, 'invalid_grant_in_maintenance_window', 'the outage answered invalid_grant')
  t.ok((failing?.nextAttemptAt ?? 0) >= at('2026-11-25T03:45:00Z'), 'the next attempt waits for the window to end')
  t.equal(undeliveredOutbox(deps.db).filter((m) => m.kind === 'needs_reauth').length, 0, 'nobody is told to reconnect')
  const refreshesDuringOutage = sim.stats.refreshes

  deps.clock.set(at('2026-11-25T03:47:00Z'))
  deps0Clock.now = deps.clock.now()
  t.type(await source.getAccessToken('dexcom-sandbox'), 'string', 'after the window the same refresh token works')
  t.equal(getConnection(deps.db, 'dexcom-sandbox')?.status, 'ok')
  t.ok(sim.stats.refreshes > refreshesDuringOutage)

  // Outside the window, a revoked grant is final as always.
  sim.revokeAll()
  deps.clock.advance(3 * 60 * 60_000)
  deps0Clock.now = deps.clock.now()
  await t.rejects(source.getAccessToken('dexcom-sandbox'), { code: 'NEEDS_REAUTH' })
  t.equal(undeliveredOutbox(deps.db).filter((m) => m.kind === 'needs_reauth').length, 1)
})
