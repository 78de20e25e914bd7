// The scheduler asks each job's `due` check in the daemon's thread before it starts a worker:
// a job with nothing to do costs no isolate, at start or at any tick; runNow always runs.
import t from 'tap'
import { ensureConnection } from '../../src/db/connections.js'
import { INTEGRATIONS } from '../../src/integrations/index.js'
import { connectionsToRefresh, flowsToResolve, integrationConnected } from '../../src/jobs/due.js'
import { startScheduler } from '../../src/jobs/scheduler.js'
import { startFlow } from '../../src/oauth/flow.js'
import { saveOAuthEntry } from '../../src/store/auth-json.js'
import { testConfig, testDeps } from '../support/deps.js'
import { until } from '../support/until.js'

t.test('a job that is not due starts no worker; once due it runs; runNow runs regardless', async (t) => {
  const deps = testDeps(t)
  let due = false
  let checks = 0
  let runs = 0
  const scheduler = await startScheduler(deps, [
    {
      name: 'resolve-pending',
      intervalMs: 50,
      onResult: () => runs++,
      due: () => {
        checks++
        return due
      },
    },
  ])
  t.teardown(() => scheduler.stop())
  await until(() => checks >= 4)
  t.equal(runs, 0, 'four checks said no: no run')
  t.notOk(scheduler.isRunning('resolve-pending'), 'and no worker')

  scheduler.runNow('resolve-pending')
  await until(() => runs === 1)
  t.pass('runNow ran the job although it was not due')

  due = true
  await until(() => runs >= 2)
  t.pass('a tick ran it once it was due')
})

t.test('a check that throws runs the job and says why in the log', async (t) => {
  const deps = testDeps(t)
  let runs = 0
  const scheduler = await startScheduler(deps, [
    {
      name: 'resolve-pending',
      intervalMs: 60_000,
      onResult: () => runs++,
      due: () => {
        throw new Error('database is locked')
      },
    },
  ])
  t.teardown(() => scheduler.stop())
  await until(() => runs === 1)
  t.match(deps.logs.text(), /job check failed: running the job.*database is locked|database is locked.*job check failed/)
})

t.test('the daemon’s checks: a flow, a connection, an integration’s tokens', async (t) => {
  const deps = testDeps(t, {
    config: testConfig(t, { providers: { acme: { displayName: 'Acme', authorizationUrl: 'http://127.0.0.1:9/a', tokenUrl: 'http://127.0.0.1:9/t', clientId: 'c', scopes: ['x'] } } }),
  })
  const dexcom = INTEGRATIONS.find((i) => i.id === 'dexcom')
  if (!dexcom) throw new Error('no dexcom integration')
  t.equal(flowsToResolve(deps.db), false, 'fresh: no flow')
  t.equal(connectionsToRefresh(deps.db), false, 'fresh: no connection')
  t.equal(await integrationConnected(deps.config, dexcom), false, 'fresh: no Dexcom tokens')

  startFlow(deps, { provider: 'acme' })
  t.equal(flowsToResolve(deps.db), true, 'an open flow')
  ensureConnection(deps.db, 'acme', deps.clock.now(), ['x'])
  t.equal(connectionsToRefresh(deps.db), true, 'a connection')
  await saveOAuthEntry(deps.config.authFile, 'acme', { type: 'oauth', access: 'a', refresh: 'r', expires: deps.clock.now() + 60_000 })
  t.equal(await integrationConnected(deps.config, dexcom), false, 'tokens of another provider')
  const [dexcomProvider] = dexcom.providerIds(deps.config)
  await saveOAuthEntry(deps.config.authFile, dexcomProvider ?? 'dexcom', { type: 'oauth', access: 'a', refresh: 'r', expires: deps.clock.now() + 60_000 })
  t.equal(await integrationConnected(deps.config, dexcom), true, 'Dexcom tokens, written by anyone')
})

t.test('at start, the due jobs run one after another in the order given, not all at once', async (t) => {
  const deps = testDeps(t)
  const events: string[] = []
  let resolveRunning: boolean | undefined
  const scheduler = await startScheduler(deps, [
    { name: 'resolve-pending', intervalMs: 60_000, onResult: () => events.push('resolve-pending ran'), due: () => events.push('resolve-pending due') > 0 },
    {
      name: 'refresh-tokens',
      intervalMs: 60_000,
      onResult: () => events.push('refresh-tokens ran'),
      due: () => {
        resolveRunning = scheduler.isRunning('resolve-pending')
        return events.push('refresh-tokens due') > 0
      },
    },
  ])
  t.teardown(() => scheduler.stop())
  await until(() => events.length === 4)
  t.same(events, ['resolve-pending due', 'resolve-pending ran', 'refresh-tokens due', 'refresh-tokens ran'])
  t.equal(resolveRunning, false, "the second job's turn came once the first one's worker had ended")
})
