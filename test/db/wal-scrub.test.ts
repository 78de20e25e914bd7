// Issue 9 item 8: secure_delete zeroes deleted rows in the database pages, but older WAL frames
// keep them. A spent code and PKCE verifier must be gone from latchkey.db-wal (and the database)
// once the flow ends, whatever the ending.
import { existsSync, readFileSync } from 'node:fs'
import t, { type Test } from 'tap'
import { getFlowByState } from '../../src/db/oauth-flows.js'
import { acceptCallback, stateCookieName } from '../../src/oauth/callback.js'
import { startFlow } from '../../src/oauth/flow.js'
import { resolvePending } from '../../src/oauth/pending.js'
import { fakeServer, testConfig, testDeps, type TestDeps } from '../support/deps.js'

const CODE = 'CANARY-CODE-7f3a9b'

function filesHold(deps: TestDeps, needle: string): string[] {
  const found: string[] = []
  for (const file of [deps.config.dbFile, `${deps.config.dbFile}-wal`]) {
    if (existsSync(file) && readFileSync(file).includes(Buffer.from(needle))) found.push(file)
  }
  return found
}

async function world(t: Test) {
  const as = await fakeServer(t, () => ({ json: { access_token: 'at', refresh_token: 'rt', token_type: 'Bearer', expires_in: 3600 } }))
  const config = testConfig(t, {
    providers: { acme: { displayName: 'Acme', authorizationUrl: `${as.url}/authorize`, tokenUrl: `${as.url}/token`, clientId: 'cid', clientSecret: 'csecret', scopes: ['read'] } },
  })
  return testDeps(t, { config })
}

t.test('a connected flow leaves no code or verifier in the WAL or the database', async (t) => {
  const deps = await world(t)
  const flow = startFlow(deps, { provider: 'acme', chatId: 42, messageId: 7 })
  const verifier = getFlowByState(deps.db, flow.state)?.codeVerifier as string
  acceptCallback(deps, { kind: 'code', state: flow.state, code: CODE }, `${stateCookieName(flow.state, false)}=${flow.state}`, false)
  t.ok(filesHold(deps, CODE).length > 0, 'control: the code is on disk while the flow is open')
  t.equal((await resolvePending(deps)).connected, 1)
  t.same(filesHold(deps, CODE), [], 'the code is gone')
  t.same(filesHold(deps, verifier), [], 'the verifier is gone')
})

t.test('a flow ended by the provider’s error leaves no verifier behind', async (t) => {
  const deps = await world(t)
  const flow = startFlow(deps, { provider: 'acme', chatId: 42, messageId: 7 })
  const verifier = getFlowByState(deps.db, flow.state)?.codeVerifier as string
  t.ok(filesHold(deps, verifier).length > 0, 'control: the verifier is on disk while the flow is open')
  acceptCallback(deps, { kind: 'error', state: flow.state, error: 'access_denied' }, `${stateCookieName(flow.state, false)}=${flow.state}`, false)
  t.same(filesHold(deps, verifier), [])
})

t.test('the WAL is bounded: it does not grow past the limit under many writes', async (t) => {
  const deps = await world(t)
  for (let i = 0; i < 300; i++) startFlow(deps, { provider: 'acme', chatId: 42, messageId: i })
  const wal = `${deps.config.dbFile}-wal`
  t.ok(!existsSync(wal) || readFileSync(wal).length <= 2 * 1024 * 1024, `the WAL stays small (${existsSync(wal) ? readFileSync(wal).length : 0} bytes)`)
  t.equal(deps.db.pragma('wal_autocheckpoint', { simple: true }), 100)
})
