// Device mode (RFC 8628) against a loopback authorization server that answers the device
// endpoint, then authorization_pending, then slow_down, then tokens. Poll spacing is checked
// on the injected clock, never by timing.
import { readFileSync } from 'node:fs'
import t from 'tap'
import { getFlowByState } from '../../src/db/oauth-flows.js'
import { undeliveredOutbox } from '../../src/db/outbox.js'
import { buildServer } from '../../src/http/server.js'
import { startDeviceFlow } from '../../src/oauth/device.js'
import { resolvePending } from '../../src/oauth/pending.js'
import { fakeServer, testConfig, testDeps, type RecordedRequest, type Teardown } from '../support/deps.js'

const DEVICE_CODE = 'canary-device-code-5f2a9e'
type Answer = { status?: number; json: unknown }

async function setup(t: Teardown, tokenAnswers: Answer[]) {
  let base = ''
  const as = await fakeServer(t, (req: RecordedRequest) => {
    if (req.url === '/device')
      return { json: { device_code: DEVICE_CODE, user_code: 'WDJB-MJHT', verification_uri: `${base}/activate`, verification_uri_complete: `${base}/activate?user_code=WDJB-MJHT`, expires_in: 900, interval: 5 } }
    return tokenAnswers.shift() ?? { status: 400, json: { error: 'authorization_pending' } }
  })
  base = as.url
  const config = testConfig(t, {
    providers: {
      devy: { displayName: 'Devy', authorizationUrl: `${as.url}/authorize`, tokenUrl: `${as.url}/token`, deviceAuthorizationUrl: `${as.url}/device`, redirectMode: 'device', clientId: 'dev-client', clientSecret: 'dev-secret', scopes: ['read', 'offline'] },
    },
  })
  const deps = testDeps(t, { config })
  const polls = () => as.requests.filter((r) => r.url === '/token')
  return { as, deps, polls }
}

const pending = { status: 400, json: { error: 'authorization_pending' } }

t.test('polls at the interval, slows down when told, then connects', async (t) => {
  const { as, deps, polls } = await setup(t, [pending, { status: 400, json: { error: 'slow_down' } }, { json: { access_token: 'dev-at', refresh_token: 'dev-rt', token_type: 'bearer', expires_in: 3600, scope: 'read' } }])
  const flow = await startDeviceFlow(deps, { provider: 'devy', chatId: 7, messageId: 9 })
  t.equal(flow.userCode, 'WDJB-MJHT')
  t.equal(flow.verificationUri, `${as.url}/activate`)
  t.same(as.requests[0]?.form, { scope: 'read offline', client_id: 'dev-client', client_secret: 'dev-secret' }, 'the device request carries the client and the scopes')
  t.equal(getFlowByState(deps.db, flow.state)?.status, 'waiting')

  const at = async (ms: number) => {
    deps.clock.advance(ms)
    return resolvePending(deps)
  }
  await at(0)
  t.equal(polls().length, 0, 'no poll before the interval has passed')
  await at(5_000)
  t.equal(polls().length, 1, 'first poll after 5 s')
  t.same(polls()[0]?.form, { grant_type: 'urn:ietf:params:oauth:grant-type:device_code', device_code: DEVICE_CODE, client_id: 'dev-client', client_secret: 'dev-secret' })
  await at(4_000)
  t.equal(polls().length, 1, 'not again within 5 s')
  await at(1_000)
  t.equal(polls().length, 2, 'second poll (answered slow_down)')
  await at(5_000)
  t.equal(polls().length, 2, 'slow_down added 5 s: nothing at +5 s')
  const summary = await at(5_000)
  t.equal(polls().length, 3, 'third poll at +10 s gets the tokens')
  t.same(summary.changedStates, [flow.state])
  t.equal(summary.connected, 1)

  const ended = getFlowByState(deps.db, flow.state)
  t.equal(ended?.status, 'connected')
  t.same(JSON.parse(readFileSync(deps.config.authFile, 'utf8')).devy, { type: 'oauth', access: 'dev-at', refresh: 'dev-rt', expires: deps.clock.now() + 3_600_000, scope: 'read', tokenType: 'Bearer' })
  const [report] = undeliveredOutbox(deps.db)
  t.match(report, { chatId: 7, messageId: 9, text: '✅ Devy connected (scopes: read)\n⚠️ not granted: offline' })
  await at(60_000)
  t.equal(polls().length, 3, 'no polling after the end')
  t.equal((deps.db.prepare('SELECT COUNT(*) AS n FROM device_flows').get() as { n: number }).n, 0, 'the device code is gone from the database')
  t.notMatch(deps.logs.text(), DEVICE_CODE, 'and never reached the log')
})

t.test('access_denied ends as denied, expired_token as expired, each reported once', async (t) => {
  const denied = await setup(t, [{ status: 400, json: { error: 'access_denied' } }])
  const a = await startDeviceFlow(denied.deps, { provider: 'devy' })
  denied.deps.clock.advance(5_000)
  await resolvePending(denied.deps)
  t.equal(getFlowByState(denied.deps.db, a.state)?.status, 'denied')
  t.match(undeliveredOutbox(denied.deps.db)[0]?.text, /^❌ Devy: access was denied at Devy\.$/)

  const expired = await setup(t, [{ status: 400, json: { error: 'expired_token' } }])
  const b = await startDeviceFlow(expired.deps, { provider: 'devy' })
  expired.deps.clock.advance(5_000)
  t.match(await resolvePending(expired.deps), { expired: 1, failed: 0, changedStates: [b.state] }, 'counted as expired')
  t.equal(getFlowByState(expired.deps.db, b.state)?.status, 'expired')
  t.match(undeliveredOutbox(expired.deps.db)[0]?.text, /^⌛ Devy: the link expired/)
  expired.deps.clock.advance(60_000)
  await resolvePending(expired.deps)
  t.equal(expired.polls().length, 1)
  t.equal(undeliveredOutbox(expired.deps.db).length, 1)
  for (const d of [denied.deps, expired.deps]) t.notMatch(d.logs.text(), DEVICE_CODE, 'the device code never reaches the log')
})

t.test('POST /oauth/flows for a device provider answers the code to show', async (t) => {
  const { deps, as } = await setup(t, [])
  const app = await buildServer(deps, { apiToken: 'a'.repeat(40), callbackWaitMs: 0 })
  t.teardown(() => app.close())
  const res = await app.inject({ method: 'POST', url: '/oauth/flows', headers: { authorization: `Bearer ${'a'.repeat(40)}` }, payload: { provider: 'devy' } })
  t.equal(res.statusCode, 201)
  t.match(res.json(), { provider: 'devy', userCode: 'WDJB-MJHT', startUrl: `${as.url}/activate?user_code=WDJB-MJHT`, authorizationUrl: `${as.url}/activate` })
  t.notMatch(res.body, DEVICE_CODE, 'the device code stays inside latchkey')
})
