// The simulator's OAuth side through a cookie browser and raw token requests: login and consent
// pages on /v2 and /v3, single-use short-lived codes, rotating single-use refresh tokens, client
// credentials in the form body only, revocation and injected faults.
import t from 'tap'
import { startDexcomSimulator } from '../../../src/integrations/dexcom/simulator/index.js'
import { CookieBrowser } from '../../support/cookie-browser.js'
import {
  SIM_CLIENT_ID,
  SIM_CLIENT_SECRET,
  SIM_REDIRECT_URI,
  SIM_START,
  formSubmitUrl,
  simAuthorizeUrl,
  simTokenRequest,
  startTestDexcomSimulator,
  type TestDexcomSimulator,
} from '../../support/dexcom-simulator.js'

const stopAtCallback = (url: string) => url.startsWith(SIM_REDIRECT_URI)

/** Login page → choose a user → consent → Authorize/Deny, as a browser submits the forms. */
async function loginThrough(sim: TestDexcomSimulator, opts: { version?: 'v2' | 'v3'; state?: string; user?: string; approve?: 'yes' | 'no' } = {}) {
  const browser = new CookieBrowser()
  const start = simAuthorizeUrl(sim, { version: opts.version, state: opts.state })
  const login = await browser.get(start)
  const consent = await browser.get(formSubmitUrl(login.body, login.url, { username: opts.user ?? 'SandboxUser7' }))
  const back = await browser.get(formSubmitUrl(consent.body, consent.url, { approve: opts.approve ?? 'yes' }), { stopAt: stopAtCallback })
  return { login, consent, back, location: new URL(String(back.headers.location)) }
}

async function codeFor(sim: TestDexcomSimulator, version: 'v2' | 'v3' = 'v2'): Promise<string> {
  const { location } = await loginThrough(sim, { version })
  return location.searchParams.get('code') ?? ''
}

function exchange(sim: TestDexcomSimulator, code: string, extra: Record<string, string> = {}, version: 'v2' | 'v3' = 'v2') {
  return simTokenRequest(sim, { grant_type: 'authorization_code', code, redirect_uri: SIM_REDIRECT_URI, client_id: SIM_CLIENT_ID, client_secret: SIM_CLIENT_SECRET, ...extra }, { version })
}

function refresh(sim: TestDexcomSimulator, refreshToken: string, extra: Record<string, string> = {}) {
  return simTokenRequest(sim, { grant_type: 'refresh_token', refresh_token: refreshToken, client_id: SIM_CLIENT_ID, client_secret: SIM_CLIENT_SECRET, ...extra })
}

async function egvStatus(sim: TestDexcomSimulator, accessToken: string): Promise<number> {
  const res = await fetch(`${sim.url}/v3/users/self/egvs?startDate=2026-11-24T00:00:00&endDate=2026-11-25T00:00:00`, { headers: { authorization: `Bearer ${accessToken}` } })
  await res.arrayBuffer()
  return res.status
}

t.test('login page: dropdown of SandboxUser1-7, no password, self-contained', async (t) => {
  const sim = await startTestDexcomSimulator(t)
  const page = await new CookieBrowser().get(simAuthorizeUrl(sim))
  t.equal(page.status, 200)
  t.equal(page.headers['content-security-policy'], "default-src 'none'", 'nothing loads from anywhere')
  t.equal(page.headers['cache-control'], 'no-store')
  const options = [...page.body.matchAll(/<option value="([^"]+)"/g)].map((m) => m[1])
  t.same(options, ['SandboxUser1', 'SandboxUser2', 'SandboxUser3', 'SandboxUser4', 'SandboxUser5', 'SandboxUser6', 'SandboxUser7'])
  t.match(page.body, /SandboxUser6 \(G6\)/)
  t.match(page.body, /SandboxUser7 \(G7\)/)
  t.notMatch(page.body, /type="password"/, 'no password field')
  t.notMatch(page.body, /<script|<link|<img|style=/i, 'no script, stylesheet or image')
})

for (const version of ['v2', 'v3'] as const) {
  t.test(`${version}: login → consent → code → tokens`, async (t) => {
    const sim = await startTestDexcomSimulator(t)
    const { consent, back, location } = await loginThrough(sim, { version, user: 'SandboxUser6' })
    t.match(consent.body, /SandboxUser6/, 'the consent page names the user')
    t.match(consent.body, /name="approve" value="yes"/, 'an Authorize button')
    t.match(consent.body, /name="approve" value="no"/, 'a Deny button')
    t.equal(back.status, 302)
    t.equal(location.origin + location.pathname, SIM_REDIRECT_URI, 'back to the registered redirect URI')
    t.equal(location.searchParams.get('state'), 'state-123', 'state echoed')
    const code = location.searchParams.get('code') ?? ''
    t.ok(code.length >= 32, 'a code')
    const res = await exchange(sim, code, {}, version)
    t.equal(res.status, 200)
    t.same(Object.keys(res.body).sort(), ['access_token', 'expires_in', 'refresh_token', 'token_type'])
    t.equal(res.body.expires_in, 7200, 'two hours, in seconds')
    t.equal(res.body.token_type, 'Bearer')
    t.equal(res.headers.get('cache-control'), 'no-store')
    t.equal(await egvStatus(sim, String(res.body.access_token)), 200, 'the access token reads data')
    t.equal(sim.stats.codeExchanges, 1)
  })
}

t.test('deny → error=access_denied with state; hostile state is escaped and echoed exactly', async (t) => {
  const sim = await startTestDexcomSimulator(t)
  const state = `"><script>alert(1)</script>&x='y`
  const { login, consent, location } = await loginThrough(sim, { state, approve: 'no' })
  for (const page of [login.body, consent.body]) t.notMatch(page, '<script>', 'the state never lands as markup')
  t.equal(location.searchParams.get('error'), 'access_denied')
  t.equal(location.searchParams.get('state'), state)
  t.notOk(location.searchParams.has('code'))
  t.equal(sim.stats.codeExchanges, 0)
})

t.test('bad authorization requests', async (t) => {
  const sim = await startTestDexcomSimulator(t)
  const browser = new CookieBrowser()
  const unknownClient = await browser.get(simAuthorizeUrl(sim, { clientId: 'nobody' }), { stopAt: () => true })
  t.equal(unknownClient.status, 400, 'unknown client: an error page, no redirect')
  t.notOk(unknownClient.headers.location)
  const wrongRedirect = await browser.get(simAuthorizeUrl(sim, { redirectUri: 'http://127.0.0.1:9/elsewhere' }), { stopAt: () => true })
  t.equal(wrongRedirect.status, 400, 'unregistered redirect URI: an error page, no redirect')
  t.notOk(wrongRedirect.headers.location)
  const scope = await browser.get(simAuthorizeUrl(sim, { scope: 'openid' }), { stopAt: stopAtCallback })
  t.equal(new URL(String(scope.headers.location)).searchParams.get('error'), 'invalid_scope', 'scope must be offline_access')
  const type = await browser.get(simAuthorizeUrl(sim, { responseType: 'token' }), { stopAt: stopAtCallback })
  t.equal(new URL(String(type.headers.location)).searchParams.get('error'), 'unsupported_response_type')
  const badUser = await browser.get(`${simAuthorizeUrl(sim)}&username=SandboxUser9&approve=yes`, { stopAt: () => true })
  t.equal(badUser.status, 200, 'an unknown user gets the login page again')
  t.match(badUser.body, /role="alert"/)
  const post = await fetch(simAuthorizeUrl(sim), { method: 'POST' })
  t.equal(post.status, 405)
})

t.test('codes: single use, short-lived, bound to client and redirect URI', async (t) => {
  const sim = await startTestDexcomSimulator(t)
  const code = await codeFor(sim)
  t.equal((await exchange(sim, code)).status, 200, 'first use works')
  const reuse = await exchange(sim, code)
  t.equal(reuse.status, 400)
  t.same(reuse.body, { error: 'invalid_grant' }, 'reuse → invalid_grant')

  const late = await codeFor(sim)
  sim.clock.advance(61_000)
  t.same((await exchange(sim, late)).body, { error: 'invalid_grant' }, 'after 60 s the code is dead')

  const other = await codeFor(sim)
  t.same((await exchange(sim, other, { redirect_uri: 'http://127.0.0.1:9/other' })).body, { error: 'invalid_grant' }, 'redirect_uri must match')
  t.same((await exchange(sim, other)).body, { error: 'invalid_grant' }, 'and the failed attempt consumed it')

  const shortSim = await startTestDexcomSimulator(t, { codeTtlSeconds: 5 })
  const shortCode = shortSim.issueCode({ clientId: SIM_CLIENT_ID, redirectUri: SIM_REDIRECT_URI })
  shortSim.clock.advance(6_000)
  t.same((await exchange(shortSim, shortCode)).body, { error: 'invalid_grant' }, 'codeTtlSeconds is honoured')
})

t.test('client authentication: id and secret in the form body only', async (t) => {
  const sim = await startTestDexcomSimulator(t)
  const code = sim.issueCode({ clientId: SIM_CLIENT_ID, redirectUri: SIM_REDIRECT_URI })
  const basic = `Basic ${Buffer.from(`${SIM_CLIENT_ID}:${SIM_CLIENT_SECRET}`).toString('base64')}`
  const viaBasic = await simTokenRequest(sim, { grant_type: 'authorization_code', code, redirect_uri: SIM_REDIRECT_URI }, { headers: { authorization: basic } })
  t.equal(viaBasic.status, 401)
  t.same(viaBasic.body, { error: 'invalid_client' }, 'HTTP Basic alone is refused')
  const wrong = await exchange(sim, code, { client_secret: 'wrong' })
  t.equal(wrong.status, 401)
  t.same(wrong.body, { error: 'invalid_client' })
  const json = await fetch(sim.tokenUrl, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ grant_type: 'authorization_code', code }) })
  t.equal(json.status, 400, 'JSON bodies are refused')
  t.same(await json.json(), { error: 'invalid_request' })
  const dup = await fetch(sim.tokenUrl, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: `grant_type=authorization_code&code=${code}&code=${code}&redirect_uri=${encodeURIComponent(SIM_REDIRECT_URI)}&client_id=${SIM_CLIENT_ID}&client_secret=${SIM_CLIENT_SECRET}`,
  })
  t.same(await dup.json(), { error: 'invalid_request' }, 'a repeated parameter is invalid_request')
  t.same((await exchange(sim, code, { grant_type: 'password' })).body, { error: 'unsupported_grant_type' })
  t.equal((await exchange(sim, code)).status, 200, 'none of the refused requests consumed the code')
})

t.test('refresh tokens rotate and are single-use; lifetimes are configurable', async (t) => {
  const sim = await startTestDexcomSimulator(t, { accessTokenTtlSeconds: 600, refreshTokenTtlSeconds: 3600 })
  const first = await exchange(sim, await codeFor(sim))
  t.equal(first.body.expires_in, 600, 'accessTokenTtlSeconds is honoured')
  const second = await refresh(sim, String(first.body.refresh_token))
  t.equal(second.status, 200)
  t.not(second.body.refresh_token, first.body.refresh_token, 'a new refresh token')
  t.not(second.body.access_token, first.body.access_token, 'a new access token')
  const replay = await refresh(sim, String(first.body.refresh_token))
  t.equal(replay.status, 400)
  t.same(replay.body, { error: 'invalid_grant' }, 'the old refresh token is dead')
  const third = await refresh(sim, String(second.body.refresh_token), { redirect_uri: SIM_REDIRECT_URI })
  t.equal(third.status, 200, 'the new one works (an extra redirect_uri is harmless)')
  t.same((await refresh(sim, String(third.body.refresh_token), { client_secret: 'nope' })).body, { error: 'invalid_client' })
  t.equal(sim.stats.refreshes, 2)

  sim.clock.advance(601_000)
  t.equal(await egvStatus(sim, String(third.body.access_token)), 401, 'the access token expires after its TTL')
  sim.clock.advance(3000_000)
  t.same((await refresh(sim, String(third.body.refresh_token))).body, { error: 'invalid_grant' }, 'the refresh token expires after its TTL')
})

t.test('revokeAll ends every token and code', async (t) => {
  const sim = await startTestDexcomSimulator(t)
  const tokens = sim.issueTokens({ clientId: SIM_CLIENT_ID })
  const code = sim.issueCode({ clientId: SIM_CLIENT_ID, redirectUri: SIM_REDIRECT_URI })
  t.equal(await egvStatus(sim, tokens.access_token), 200)
  sim.revokeAll()
  t.equal(await egvStatus(sim, tokens.access_token), 401)
  t.same((await refresh(sim, tokens.refresh_token)).body, { error: 'invalid_grant' })
  t.same((await exchange(sim, code)).body, { error: 'invalid_grant' })
})

t.test('faults: nightly refresh outage, one-shot 503, ambiguous failure, dropped connection', async (t) => {
  const night = Date.UTC(2026, 10, 26, 3, 0, 0)
  const sim = await startTestDexcomSimulator(t, { faults: { refreshOutage: { start: '02:45', end: '03:45' } } })
  const tokens = sim.issueTokens({ clientId: SIM_CLIENT_ID })
  sim.clock.set(night)
  const during = await refresh(sim, tokens.refresh_token)
  t.equal(during.status, 503)
  t.same(during.body, { error: 'server_error' })
  sim.clock.set(night + 50 * 60_000)
  const after = await refresh(sim, tokens.refresh_token)
  t.equal(after.status, 200, 'the outage did not consume the refresh token')

  sim.faults.refreshOutage = { start: '23:00', end: '01:00', kind: 'invalid_grant' }
  sim.clock.set(Date.UTC(2026, 10, 27, 0, 30, 0))
  t.same((await refresh(sim, String(after.body.refresh_token))).body, { error: 'invalid_grant' }, 'a window across midnight, answering invalid_grant')
  sim.clearFaults()
  t.equal((await refresh(sim, String(after.body.refresh_token))).status, 200, 'cleared')

  const a = sim.issueTokens({ clientId: SIM_CLIENT_ID })
  sim.injectFault({ match: 'refresh', status: 503, retryAfterSeconds: 7, times: 1 })
  const once = await refresh(sim, a.refresh_token)
  t.equal(once.status, 503)
  t.equal(once.headers.get('retry-after'), '7')
  t.equal((await refresh(sim, a.refresh_token)).status, 200, 'times: 1 fires once and leaves the token alone')
  t.same(sim.faults.rules, [], 'the spent rule is gone')

  const b = sim.issueTokens({ clientId: SIM_CLIENT_ID })
  sim.injectFault({ match: 'token', status: 500, afterProcessing: true, times: 1 })
  t.equal((await refresh(sim, b.refresh_token)).status, 500, 'the reply is lost…')
  t.same((await refresh(sim, b.refresh_token)).body, { error: 'invalid_grant' }, '…but the rotation happened: a replay is invalid_grant')

  const c = sim.issueTokens({ clientId: SIM_CLIENT_ID })
  sim.injectFault({ match: 'code', status: 0, times: 1 })
  t.equal((await refresh(sim, c.refresh_token)).status, 200, 'a code fault leaves refreshes alone')
  sim.injectFault({ match: 'refresh', status: 0, times: 1 })
  await t.rejects(refresh(sim, c.refresh_token), 'status 0 drops the connection')
  t.equal(sim.requests.at(-1)?.status, 0, 'logged as dropped')
})

t.test('the request log carries no secret', async (t) => {
  const sim = await startTestDexcomSimulator(t)
  const code = await codeFor(sim)
  const tokens = await exchange(sim, code)
  await refresh(sim, String(tokens.body.refresh_token))
  await egvStatus(sim, String(tokens.body.access_token))
  const log = JSON.stringify(sim.requests)
  for (const secret of [SIM_CLIENT_SECRET, code, String(tokens.body.access_token), String(tokens.body.refresh_token)]) t.notMatch(log, secret)
  t.same(
    sim.requests.filter((r) => r.path.endsWith('/token')).map((r) => [r.grantType, r.status]),
    [
      ['authorization_code', 200],
      ['refresh_token', 200],
    ],
  )
})

t.test('options are checked: loopback only, at least one client', async (t) => {
  const clients = [{ clientId: 'a', clientSecret: 'b', redirectUris: ['http://127.0.0.1:9/cb'] }]
  await t.rejects(startDexcomSimulator({ host: '0.0.0.0', clients }), /loopback/)
  await t.rejects(startDexcomSimulator({ clients: [] }), /at least one app/)
  await t.rejects(startDexcomSimulator({ clients, accessTokenTtlSeconds: -1 }), /accessTokenTtlSeconds/)
  await t.rejects(startDexcomSimulator({ clients, faults: { refreshOutage: { start: '2:45', end: '03:45' } } }), /HH:MM/)
  t.equal(SIM_START, Date.UTC(2026, 10, 25, 12), 'fixture clock')
})
