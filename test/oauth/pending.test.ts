// resolvePending: the job that exchanges stored codes. Real SQLite, a loopback token endpoint,
// and a real child process killed mid-exchange.
import { fork } from 'node:child_process'
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import t from 'tap'
import type { Config } from '../../src/config.js'
import { createDeps } from '../../src/deps.js'
import { getFlowByState } from '../../src/db/oauth-flows.js'
import { undeliveredOutbox } from '../../src/db/outbox.js'
import { createLogger } from '../../src/log.js'
import { acceptCallback, stateCookieName } from '../../src/oauth/callback.js'
import { FLOW_TTL_MS, startFlow } from '../../src/oauth/flow.js'
import { CLAIM_STALE_MS, resolvePending } from '../../src/oauth/pending.js'
import { fakeServer, tempDir, testConfig, testDeps, type Teardown, type TestDeps } from '../support/deps.js'

const TOKENS = { access_token: 'at-1', refresh_token: 'rt-1', token_type: 'bearer', expires_in: 3600, scope: 'read' }

async function providerConfig(t: Teardown, answer: Parameters<typeof fakeServer>[1], raw: Record<string, unknown> = {}) {
  const as = await fakeServer(t, answer)
  const config = testConfig(t, {
    providers: {
      acme: { displayName: 'Acme', authorizationUrl: `${as.url}/authorize`, tokenUrl: `${as.url}/token`, clientId: 'cid', clientSecret: 'csecret', scopes: ['read', 'write'] },
    },
    ...raw,
  })
  return { as, config }
}

/** A flow whose callback has arrived (code stored, status exchanging). */
function receivedFlow(deps: TestDeps, code = 'the-code') {
  const flow = startFlow(deps, { provider: 'acme', chatId: 42, messageId: 7 })
  const result = acceptCallback(deps, { kind: 'code', state: flow.state, code }, `${stateCookieName(flow.state, false)}=${flow.state}`, false)
  if (result.kind !== 'received') throw new Error(`callback not accepted: ${JSON.stringify(result)}`)
  return flow
}

t.test('exchanges a stored code once, writes auth.json, reports to the chat', async (t) => {
  const { as, config } = await providerConfig(t, () => ({ json: TOKENS }))
  const deps = testDeps(t, { config })
  const flow = receivedFlow(deps)
  mkdirSync(dirname(config.authFile), { recursive: true })
  writeFileSync(config.authFile, JSON.stringify({ anthropic: { type: 'api', key: 'keep-me', nested: [1, { a: true }] } }))

  const summary = await resolvePending(deps)
  t.same(summary, { connected: 1, failed: 0, expired: 0, changedStates: [flow.state] })
  t.equal(as.requests.length, 1, 'one token request')
  const form = as.requests[0]?.form
  t.same(form, { grant_type: 'authorization_code', code: 'the-code', redirect_uri: config.redirectUri, code_verifier: form?.code_verifier, client_id: 'cid', client_secret: 'csecret' })
  t.match(form?.code_verifier, /^[A-Za-z0-9_-]{43}$/)

  const auth = JSON.parse(readFileSync(config.authFile, 'utf8'))
  t.same(auth.anthropic, { type: 'api', key: 'keep-me', nested: [1, { a: true }] }, 'other keys kept')
  t.same(auth.acme, { type: 'oauth', access: 'at-1', refresh: 'rt-1', expires: deps.clock.now() + 3_600_000, scope: 'read', tokenType: 'Bearer' })

  const ended = getFlowByState(deps.db, flow.state)
  t.equal(ended?.status, 'connected')
  t.equal(ended?.codeVerifier, null, 'the verifier is dropped once used')
  t.equal(pendingCount(deps), 0, 'the code is deleted')
  const [report] = undeliveredOutbox(deps.db)
  t.match(report, { kind: 'flow_connected', provider: 'acme', chatId: 42, messageId: 7, text: '✅ Acme connected (scopes: read)\n⚠️ not granted: write' })

  t.same(await resolvePending(deps), { connected: 0, failed: 0, expired: 0, changedStates: [] }, 'a second run does nothing')
  t.equal(as.requests.length, 1, 'and sends nothing')
})

t.test('a corrupt auth.json: the code is not spent, the flow fails with a pointer to the fix', async (t) => {
  const { as, config } = await providerConfig(t, () => ({ json: TOKENS }))
  const deps = testDeps(t, { config })
  const flow = receivedFlow(deps)
  mkdirSync(dirname(config.authFile), { recursive: true })
  writeFileSync(config.authFile, '{"anthropic": {"key": "half-writ')
  t.same(await resolvePending(deps), { connected: 0, failed: 1, expired: 0, changedStates: [flow.state] })
  t.equal(as.requests.length, 0, 'no token request: the single-use code is kept unspent')
  t.equal(getFlowByState(deps.db, flow.state)?.error, 'auth_file_unwritable')
  t.match(undeliveredOutbox(deps.db)[0]?.text, /could not write the auth file \(run "latchkey doctor"\)/)
  t.equal(readFileSync(config.authFile, 'utf8'), '{"anthropic": {"key": "half-writ', 'the file is untouched')
})

t.test('a refused code ends the flow as failed, with a plain report and no retry', async (t) => {
  const { as, config } = await providerConfig(t, () => ({ status: 400, json: { error: 'invalid_grant', error_description: 'code expired' } }))
  const deps = testDeps(t, { config })
  const flow = receivedFlow(deps)
  t.same(await resolvePending(deps), { connected: 0, failed: 1, expired: 0, changedStates: [flow.state] })
  t.equal(getFlowByState(deps.db, flow.state)?.error, 'invalid_grant')
  t.match(undeliveredOutbox(deps.db)[0]?.text, /^❌ Acme connection failed: Acme did not accept the authorization code/)
  await resolvePending(deps)
  t.equal(as.requests.length, 1, 'never retried')
})

t.test('an unreachable or broken token endpoint fails the flow without leaking', async (t) => {
  const broken = await providerConfig(t, () => ({ status: 502, body: '<html>bad gateway</html>' }))
  const deps = testDeps(t, { config: broken.config })
  const flow = receivedFlow(deps, 'canary-code-123456')
  await resolvePending(deps)
  t.equal(getFlowByState(deps.db, flow.state)?.error, 'bad_response')

  const config = testConfig(t, { providers: { acme: { displayName: 'Acme', authorizationUrl: 'http://127.0.0.1:9/a', tokenUrl: 'http://127.0.0.1:9/t', clientId: 'cid', clientSecret: 'canary-secret-987', scopes: [] } } })
  const deps2 = testDeps(t, { config })
  const flow2 = receivedFlow(deps2, 'canary-code-654321')
  await resolvePending(deps2)
  t.equal(getFlowByState(deps2.db, flow2.state)?.error, 'provider_unreachable')
  t.match(undeliveredOutbox(deps2.db)[0]?.text, /could not reach Acme's token endpoint/)
  for (const text of [deps.logs.text(), deps2.logs.text()]) {
    t.notMatch(text, /canary-code|canary-secret|csecret/, 'no code or secret in the log')
  }
})

t.test('flows past their life are expired and reported once', async (t) => {
  const { as, config } = await providerConfig(t, () => ({ json: TOKENS }))
  const deps = testDeps(t, { config })
  const waiting = startFlow(deps, { provider: 'acme' })
  const client = startFlow(deps, { provider: 'acme', exchange: 'client' })
  acceptCallback(deps, { kind: 'code', state: client.state, code: 'uncollected' }, `${stateCookieName(client.state, false)}=${client.state}`, false)
  deps.clock.advance(FLOW_TTL_MS)
  const summary = await resolvePending(deps)
  t.equal(summary.expired, 2)
  t.equal(getFlowByState(deps.db, waiting.state)?.status, 'expired')
  t.equal(getFlowByState(deps.db, client.state)?.status, 'expired', 'an uncollected client code expires too')
  t.equal(pendingCount(deps), 0, 'and its code is deleted')
  t.match(undeliveredOutbox(deps.db)[0]?.text, /^⌛ Acme: the link expired/)
  t.equal((await resolvePending(deps)).expired, 0, 'reported once')
  t.equal(as.requests.length, 0)
})

t.test('two resolvers on two connections at once: one token request', async (t) => {
  const { as, config } = await providerConfig(t, () => ({ json: TOKENS, delayMs: 50 }))
  const a = testDeps(t, { config })
  const b = createDeps(config, { clock: a.clock, log: createLogger('silent') })
  t.teardown(() => b.db.close())
  const flow = receivedFlow(a)
  const [x, y] = await Promise.all([resolvePending(a, 'worker-a'), resolvePending(b, 'worker-b')])
  t.equal(x.connected + y.connected, 1)
  t.equal(as.requests.length, 1, 'the code reached the token endpoint once')
  t.equal(getFlowByState(a.db, flow.state)?.status, 'connected')
})

t.test('a resolver killed mid-exchange: the row is reclaimed but the code is never resent', async (t) => {
  const { as, config } = await providerConfig(t, () => ({ json: TOKENS, delayMs: 60_000 }))
  const dir = tempDir(t)
  const deps = testDeps(t, { config, now: Date.now() })
  const flow = receivedFlow(deps)
  const configFile = join(dir, 'config.json')
  writeFileSync(configFile, JSON.stringify(rawConfig(config)))

  const child = fork(fileURLToPath(new URL('../support/child-resolver.ts', import.meta.url)), [configFile], { execArgv: ['--import', 'tsx'], stdio: 'ignore' })
  const exited = new Promise((resolve) => child.once('exit', resolve))
  for (let i = 0; as.requests.length === 0 && i < 400; i++) await new Promise((r) => setTimeout(r, 25))
  t.equal(as.requests.length, 1, 'the child sent the token request')
  child.kill('SIGKILL')
  await exited

  deps.clock.set(Date.now())
  t.equal((await resolvePending(deps)).failed, 0, 'a fresh claim is left alone while it may still be working')
  deps.clock.set(Date.now() + CLAIM_STALE_MS + 1)
  const summary = await resolvePending(deps)
  t.same(summary.failed, 1, 'the stale claim is taken over')
  t.equal(as.requests.length, 1, 'but the code is not sent a second time')
  const ended = getFlowByState(deps.db, flow.state)
  t.equal(ended?.status, 'failed')
  t.equal(ended?.error, 'exchange_interrupted')
  t.match(undeliveredOutbox(deps.db)[0]?.text, /interrupted while finishing the connection/)
})

t.test('a claim abandoned before the send is exchanged by the next run', async (t) => {
  const { as, config } = await providerConfig(t, () => ({ json: TOKENS }))
  const deps = testDeps(t, { config })
  const flow = receivedFlow(deps)
  deps.db.prepare('UPDATE oauth_pending SET claimed_by = ?, claimed_at = ?').run('dead-worker', deps.clock.now())
  t.equal((await resolvePending(deps)).connected, 0, 'held by the other worker for now')
  deps.clock.advance(CLAIM_STALE_MS + 1)
  t.equal((await resolvePending(deps)).connected, 1)
  t.equal(as.requests.length, 1)
  t.equal(getFlowByState(deps.db, flow.state)?.status, 'connected')
})

/** The raw config object equivalent to a parsed Config, for a child process. */
function rawConfig(config: Config): Record<string, unknown> {
  const acme = config.providers.acme
  return {
    dataDir: config.dataDir,
    authFile: config.authFile,
    apiToken: config.apiToken,
    providers: { acme: { displayName: acme?.displayName, authorizationUrl: acme?.authorizationUrl, tokenUrl: acme?.tokenUrl, clientId: acme?.clientId, clientSecret: acme?.clientSecret, scopes: acme?.scopes } },
  }
}

function pendingCount(deps: TestDeps): number {
  return (deps.db.prepare('SELECT COUNT(*) AS n FROM oauth_pending').get() as { n: number }).n
}
