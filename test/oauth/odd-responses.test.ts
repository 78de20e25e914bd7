// Issue 9 items 1 and 7 against a strict rotating token server (revokes the grant on reuse):
// odd expires_in values never cost the rotated refresh token, a response without an access
// token still gives up its new refresh token, and a huge body is cut off without eating memory.
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import t, { type Test } from 'tap'
import { getConnection } from '../../src/db/connections.js'
import { getFlowByState } from '../../src/db/oauth-flows.js'
import { acceptCallback, stateCookieName } from '../../src/oauth/callback.js'
import { startFlow } from '../../src/oauth/flow.js'
import { resolvePending } from '../../src/oauth/pending.js'
import { TokenSource } from '../../src/oauth/refresh.js'
import { saveOAuthEntry, type OAuthEntry } from '../../src/store/auth-json.js'
import { tempDir, testConfig, testDeps } from '../support/deps.js'
import { startRotatingServer, type Fault } from '../support/rotating-server.js'

const FOREVER = 10 * 365 * 86_400_000 // a min validity that forces a refresh on every call

async function world(t: Test) {
  const as = await startRotatingServer(t)
  const dir = tempDir(t)
  const raw = {
    dataDir: join(dir, 'data'),
    authFile: join(dir, 'auth.json'),
    providers: { acme: { displayName: 'Acme', authorizationUrl: `${as.url}/auth`, tokenUrl: as.tokenUrl, clientId: 'c', clientSecret: 's', scopes: ['read'] } },
  }
  const deps = testDeps(t, { config: testConfig(t, raw), now: Date.now() })
  const grant = as.newGrant()
  // Expired: a failed refresh then has no valid token to fall back on, so failures surface.
  await saveOAuthEntry(deps.config.authFile, 'acme', { type: 'oauth', access: grant.access, refresh: grant.refresh, expires: Date.now() - 1000 })
  const stored = () => (JSON.parse(readFileSync(deps.config.authFile, 'utf8')) as { acme: OAuthEntry }).acme
  return { as, deps, source: new TokenSource(deps), stored }
}

const ODD: [string, unknown, (t: Test, e: OAuthEntry, now: number) => void][] = [
  ['0', 0, (t, e) => t.equal(e.expires, undefined, 'lifetime unknown')],
  ['negative', -3600, (t, e) => t.equal(e.expires, undefined, 'lifetime unknown')],
  ['fractional (3.5)', 3.5, (t, e, now) => t.ok(e.expires !== undefined && e.expires - now <= 3_000 && e.expires - now > 0, 'floored to 3 s')],
  ['a numeric string past 2^53', '9007199254740993', (t, e) => t.equal(e.expires, undefined)],
  ['2^53 − 1', Number.MAX_SAFE_INTEGER, (t, e) => t.equal(e.expires, undefined, 'not a dead token handed out forever')],
  ['a 300-digit string', '7'.repeat(300), (t, e) => t.equal(e.expires, undefined)],
]

for (const [what, value, check] of ODD) {
  t.test(`refresh answered with expires_in ${what}: kept, and the next refresh works (no needs_reauth, no reuse)`, async (t) => {
    const w = await world(t)
    w.as.queue({ kind: 'expires_in', value })
    const token = await w.source.getAccessToken('acme', { minValidityMs: FOREVER })
    t.equal(token, w.as.issued.at(-1)?.access, 'the new access token is handed out')
    t.equal(w.stored().refresh, w.as.live(), 'the rotated refresh token is stored')
    check(t, w.stored(), Date.now())
    // The next refresh: an unknown lifetime is renewed when the provider refuses the token (a 401).
    await w.source.getEntry('acme', FOREVER, token)
    t.same(w.as.reuses, [], 'no refresh token was presented twice')
    t.same(w.as.requests.map((r) => r.outcome), ['issued', 'issued'])
    t.not(getConnection(w.deps.db, 'acme')?.status, 'needs_reauth')
  })
}

t.test('the odd lifetime is warned about once per process', async (t) => {
  const w = await world(t)
  w.as.queue({ kind: 'expires_in', value: 0 }, { kind: 'expires_in', value: 0 }, { kind: 'expires_in', value: 0 })
  let token = await w.source.getAccessToken('acme', { minValidityMs: FOREVER })
  for (let i = 0; i < 2; i++) token = (await w.source.getEntry('acme', FOREVER, token)).access
  t.equal(w.as.requests.length, 3)
  t.equal(w.deps.logs.lines().filter((l) => /lifetime unknown/.test(String(l.msg))).length, 1)
  t.same(w.as.reuses, [])
})

t.test('a code exchange answered with expires_in 0 connects', async (t) => {
  const w = await world(t)
  const flow = startFlow(w.deps, { provider: 'acme', chatId: 42, messageId: 7 })
  acceptCallback(w.deps, { kind: 'code', state: flow.state, code: w.as.issueCode() }, `${stateCookieName(flow.state, false)}=${flow.state}`, false)
  w.as.queue({ kind: 'expires_in', value: 0 })
  t.equal((await resolvePending(w.deps)).connected, 1)
  t.equal(getFlowByState(w.deps.db, flow.state)?.status, 'connected')
  t.equal(w.stored().refresh, w.as.live())
})

t.test('a code exchange answered without an access token: its refresh token is kept, and the first use refreshes', async (t) => {
  const w = await world(t)
  const flow = startFlow(w.deps, { provider: 'acme', chatId: 42, messageId: 7 })
  acceptCallback(w.deps, { kind: 'code', state: flow.state, code: w.as.issueCode() }, `${stateCookieName(flow.state, false)}=${flow.state}`, false)
  w.as.queue({ kind: 'no_access_token' })
  t.equal((await resolvePending(w.deps)).connected, 1, 'the spent code still gave a connection')
  t.equal(w.stored().refresh, w.as.live(), 'its refresh token is stored')
  t.notMatch(w.deps.logs.text(), w.as.live() ?? 'never', 'and not logged')
  const access = await w.source.getAccessToken('acme')
  t.equal(access, w.as.issued.at(-1)?.access, 'the first use refreshes and hands out a real access token')
  t.same(w.as.reuses, [], 'no reuse')
})

t.test('an answer with no access token: refused, but its new refresh token is kept and used next', async (t) => {
  const w = await world(t)
  w.as.queue({ kind: 'no_access_token' })
  await t.rejects(w.source.getAccessToken('acme', { minValidityMs: FOREVER }))
  t.equal(w.stored().refresh, w.as.live(), 'the rotated refresh token is stored')
  w.deps.db.prepare('UPDATE connections SET next_attempt_at = NULL').run() // skip the backoff
  await w.source.getAccessToken('acme', { minValidityMs: FOREVER })
  t.same(w.as.reuses, [], 'no reuse')
  t.same(w.as.requests.map((r) => r.outcome), ['issued', 'issued'])
})

const FAILURES: [string, Fault, RegExp][] = [
  ['an HTML page', { kind: 'html' }, /bad_response/],
  ['a connection reset', { kind: 'reset' }, /provider_unreachable/],
]
for (const [what, fault, lastError] of FAILURES) {
  t.test(`${what}: the refresh fails cleanly and the stored tokens are kept`, async (t) => {
    const w = await world(t)
    const before = w.stored()
    w.as.queue(fault)
    await t.rejects(w.source.getAccessToken('acme', { minValidityMs: FOREVER }), { code: 'PROVIDER_UNREACHABLE' })
    t.same(w.stored(), before, 'auth.json unchanged')
    t.match(getConnection(w.deps.db, 'acme')?.lastError, lastError)
  })
}

t.test('item 7: a 256 MB token response is cut off at the cap, with a clear error, without taking the memory', async (t) => {
  const w = await world(t)
  const before = w.stored()
  w.as.queue({ kind: 'huge', bytes: 256 * 1024 * 1024 })
  const rss = process.memoryUsage().rss
  await t.rejects(w.source.getAccessToken('acme', { minValidityMs: FOREVER }), { code: 'PROVIDER_UNREACHABLE' })
  const grown = process.memoryUsage().rss - rss
  t.ok(grown < 64 * 1024 * 1024, `memory grew by ${Math.round(grown / 1024 / 1024)} MB, not by the body's 256 MB`)
  t.equal(getConnection(w.deps.db, 'acme')?.lastError, 'response_too_large')
  t.match(w.deps.logs.text(), /more than 64 KiB/, 'the log says why')
  t.same(w.stored(), before, 'auth.json unchanged')
})
