// Issue 9 item 9: the RFC 9207 mix-up defence is on wherever it can be. A built-in whose server
// sends iss has its issuer set; for a provider with no issuer configured, an iss that is not the
// authorization endpoint's own server is refused before any token request.
import t from 'tap'
import { getFlowByState } from '../../src/db/oauth-flows.js'
import { acceptCallback, stateCookieName } from '../../src/oauth/callback.js'
import { startFlow } from '../../src/oauth/flow.js'
import { resolvePending } from '../../src/oauth/pending.js'
import { BUILT_IN_PROVIDERS } from '../../src/providers/catalog.js'
import { fakeServer, testConfig, testDeps } from '../support/deps.js'

t.test('Google, whose server sends iss, has its issuer set', async (t) => {
  t.equal(BUILT_IN_PROVIDERS.google?.issuer, 'https://accounts.google.com')
})

t.test('no issuer configured: an unexpected iss is refused and no token request goes out', async (t) => {
  const as = await fakeServer(t, () => ({ json: { access_token: 'at', refresh_token: 'rt', token_type: 'Bearer', expires_in: 3600 } }))
  const config = testConfig(t, {
    providers: { acme: { displayName: 'Acme', authorizationUrl: `${as.url}/oauth/authorize`, tokenUrl: `${as.url}/token`, clientId: 'cid', clientSecret: 'cs', scopes: ['read'] } },
  })
  const deps = testDeps(t, { config })
  const callback = (iss: string | undefined) => {
    const flow = startFlow(deps, { provider: 'acme', chatId: 42, messageId: 7 })
    const result = acceptCallback(deps, { kind: 'code', state: flow.state, code: 'c0de', ...(iss !== undefined ? { iss } : {}) }, `${stateCookieName(flow.state, false)}=${flow.state}`, false)
    return { flow, result }
  }
  for (const iss of ['https://evil.example', `${as.url}.evil.example`, 'http://127.0.0.1', `${as.url}/other`]) {
    const { flow, result } = callback(iss)
    t.same(result, { kind: 'rejected', reason: 'issuer_mismatch' }, `iss=${iss} refused`)
    t.equal(getFlowByState(deps.db, flow.state)?.status, 'waiting', 'nothing stored')
  }
  await resolvePending(deps)
  t.equal(as.requests.length, 0, 'the token endpoint saw no request')

  t.equal(callback(as.url).result.kind, 'received', 'control: the authorization server’s own origin is accepted')
  t.equal(callback(`${as.url}/`).result.kind, 'received', 'with a trailing slash too')
  t.equal(callback(undefined).result.kind, 'received', 'and so is no iss at all')
})
