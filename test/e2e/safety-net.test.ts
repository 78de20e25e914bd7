// The resolve job's safety net: a code stored without the callback event (as after a crash
// between the insert and the emit) is still exchanged, by the daemon's periodic watch.
import t from 'tap'
import { getFlowByState } from '../../src/db/oauth-flows.js'
import { acceptCallback, stateCookieName } from '../../src/oauth/callback.js'
import { startFlow } from '../../src/oauth/flow.js'
import { startTestDaemon } from '../support/daemon.js'
import { fakeServer } from '../support/deps.js'

t.test('a stored code with no event is exchanged by the periodic watch', async (t) => {
  const as = await fakeServer(t, () => ({ json: { access_token: 'net-at', token_type: 'Bearer', expires_in: 3600 } }))
  const d = await startTestDaemon(t, {
    resolveIntervalMs: 300,
    providers: { acme: { displayName: 'Acme', authorizationUrl: `${as.url}/a`, tokenUrl: `${as.url}/t`, clientId: 'c', clientSecret: 's', scopes: [] } },
  })
  const deps = d.daemon.deps
  // Let the job's boot-time run finish first, so that only the watch can find the code below.
  const until = async (cond: () => boolean) => {
    for (let i = 0; i < 200 && !cond(); i++) await new Promise((r) => setTimeout(r, 25))
  }
  await until(() => d.daemon.scheduler.isRunning('resolve-pending'))
  await until(() => !d.daemon.scheduler.isRunning('resolve-pending'))
  const flow = startFlow(deps, { provider: 'acme' })
  // acceptCallback stores the code but emits nothing: only the watch can pick it up.
  const accepted = acceptCallback(deps, { kind: 'code', state: flow.state, code: 'quiet-code' }, `${stateCookieName(flow.state, false)}=${flow.state}`, false)
  t.equal(accepted.kind, 'received')
  let status = getFlowByState(deps.db, flow.state)?.status
  for (let i = 0; i < 200 && status !== 'connected'; i++) {
    await new Promise((r) => setTimeout(r, 100))
    status = getFlowByState(deps.db, flow.state)?.status
  }
  t.equal(status, 'connected')
  t.equal(as.requests.length, 1, 'exchanged once')
})
