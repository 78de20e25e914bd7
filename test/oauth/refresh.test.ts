// Generic refresh against oidc-provider (rotating refresh tokens, reuse revokes the grant)
// and, for the failure shapes it cannot produce, a recording token endpoint on loopback.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { dirname } from 'node:path'
import t from 'tap'
import { getConnection } from '../../src/db/connections.js'
import { undeliveredOutbox } from '../../src/db/outbox.js'
import { refreshDueTokens } from '../../src/oauth/refresh-job.js'
import { backoffMs, refreshMarginMs, shouldRefresh } from '../../src/oauth/refresh-policy.js'
import { TokenSource } from '../../src/oauth/refresh.js'
import { connectInProcess } from '../support/connect.js'
import { fakeServer, testConfig, testDeps, type Teardown, type TestDeps } from '../support/deps.js'
import { startOidcServer } from '../support/oidc-server.js'

const HOUR = 3_600_000

async function oidcSetup(t: Teardown) {
  const config0 = testConfig(t)
  const as = await startOidcServer({ clients: [{ clientId: 'rc', clientSecret: 'rc-secret', redirectUris: [config0.redirectUri], authMethod: 'client_secret_basic' }] })
  t.teardown(() => as.close())
  const config = testConfig(t, {
    providers: { acme: { displayName: 'Acme', authorizationUrl: as.authorizationUrl, tokenUrl: as.tokenUrl, clientId: 'rc', clientSecret: 'rc-secret', clientAuth: 'basic', scopes: ['offline_access'] } },
  })
  // Both configs share the default publicUrl, so the registered redirect URI matches.
  const deps = testDeps(t, { config, now: Date.now() })
  await connectInProcess(deps, 'acme')
  return { as, deps }
}

function entry(deps: TestDeps, id = 'acme'): Record<string, unknown> {
  return JSON.parse(readFileSync(deps.config.authFile, 'utf8'))[id]
}

t.test('pure policy: margin, decision, backoff', async (t) => {
  t.equal(refreshMarginMs({ expires: 2 * HOUR }, 0), 12 * 60_000, '10 % of a 2 h token')
  t.equal(refreshMarginMs({ expires: 600_000 }, 0), 5 * 60_000, 'at least 5 min')
  t.equal(refreshMarginMs({}, 0), 5 * 60_000, 'unknown lifetime')
  t.same(shouldRefresh({}, 10, 0), { should: false, reason: 'no_expiry' })
  t.same(shouldRefresh({ expires: 10 }, 10, 0), { should: true, reason: 'expired' })
  t.same(shouldRefresh({ expires: 100 }, 10, 90), { should: true, reason: 'expiring' })
  t.same(shouldRefresh({ expires: 100 }, 10, 89), { should: false, reason: 'fresh' })
  t.equal(backoffMs(1, () => 0.5), 30_000)
  t.equal(backoffMs(3, () => 0.5), 120_000)
  t.equal(backoffMs(50, () => 1), 36 * 60_000, 'capped at 30 min, plus 20 % jitter')
  t.equal(backoffMs(1, () => 0), 24_000)
})

t.test('a fresh token is returned without any token request', async (t) => {
  const { as, deps } = await oidcSetup(t)
  const before = as.tokenRequests.length
  const source = new TokenSource(deps)
  // The test server's access tokens live 5 s, so ask for one valid for at least 1 s more.
  t.equal(await source.getAccessToken('acme', { minValidityMs: 1000 }), entry(deps).access)
  t.equal(as.tokenRequests.length, before)
  await source.getAccessToken('acme')
  t.equal(as.tokenRequests.length, before + 1, 'the default minimum validity (60 s) is longer than 5 s: refreshed')
})

t.test('an expired token is refreshed once for 20 concurrent callers; the refresh token rotates', async (t) => {
  const { as, deps } = await oidcSetup(t)
  const old = entry(deps)
  deps.clock.advance(6_000) // past the 5 s access token
  const source = new TokenSource(deps)
  const tokens = await Promise.all(Array.from({ length: 20 }, () => source.getAccessToken('acme')))
  const refreshes = as.tokenRequests.filter((r) => r.grantType === 'refresh_token')
  t.equal(refreshes.length, 1, 'one refresh request')
  t.equal(refreshes[0]?.status, 200)
  t.equal(refreshes[0]?.usedBasicAuth, true, 'the provider’s client authentication is used')
  const now = entry(deps)
  t.equal(new Set(tokens).size, 1, 'every caller got the same token')
  t.equal(tokens[0], now.access)
  t.not(now.access, old.access)
  t.not(now.refresh, old.refresh, 'the rotated refresh token was stored')
  t.equal(now.scope, 'offline_access')
  t.equal(getConnection(deps.db, 'acme')?.lastRefreshAt, deps.clock.now())
  t.equal(getConnection(deps.db, 'acme')?.status, 'ok')
})

t.test('revoked grant: needs_reauth once, one outbox row, no token request over 10 job runs', async (t) => {
  const { as, deps } = await oidcSetup(t)
  const stale = String(entry(deps).refresh)
  // Revoke at the authorization server: rotate once outside latchkey, then replay the old
  // refresh token, which makes oidc-provider revoke the whole grant.
  const basic = `Basic ${Buffer.from('rc:rc-secret').toString('base64')}`
  const post = (rt: string) => fetch(as.tokenUrl, { method: 'POST', headers: { authorization: basic, 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: rt }) })
  t.equal((await post(stale)).status, 200)
  t.equal((await post(stale)).status, 400, 'replay revokes the grant')
  const before = as.tokenRequests.length

  deps.clock.advance(6_000)
  const source = new TokenSource(deps)
  for (let run = 0; run < 10; run++) {
    await refreshDueTokens(deps, source)
    deps.clock.advance(60_000)
  }
  t.equal(as.tokenRequests.length - before, 1, 'one refresh attempt, then none')
  t.equal(getConnection(deps.db, 'acme')?.status, 'needs_reauth')
  const rows = undeliveredOutbox(deps.db).filter((m) => m.kind === 'needs_reauth')
  t.equal(rows.length, 1, 'one notification')
  t.equal(rows[0]?.text, '⚠️ Acme needs reconnecting: it no longer accepts latchkey\'s refresh token. Send "connect acme" to reconnect.')
  await t.rejects(source.getAccessToken('acme'), { code: 'NEEDS_REAUTH', message: 'Acme needs reconnecting: run "latchkey connect acme"' })
  t.equal(entry(deps).refresh, stale, 'the tokens are kept, not wiped')
  t.equal(as.tokenRequests.length - before, 1)

  await connectInProcess(deps, 'acme')
  t.equal(getConnection(deps.db, 'acme')?.status, 'ok', 'reconnecting clears it')
  t.type(await source.getAccessToken('acme'), 'string')
})

async function fakeSetup(t: Teardown, handler: Parameters<typeof fakeServer>[1], extra: Record<string, unknown> = {}) {
  const as = await fakeServer(t, handler)
  const config = testConfig(t, {
    providers: { acme: { displayName: 'Acme', authorizationUrl: `${as.url}/a`, tokenUrl: `${as.url}/token`, clientId: 'cid', clientSecret: 'csecret', scopes: ['read'], ...extra } },
  })
  const deps = testDeps(t, { config })
  mkdirSync(dirname(config.authFile), { recursive: true })
  const now = deps.clock.now()
  writeFileSync(config.authFile, JSON.stringify({ acme: { type: 'oauth', access: 'old-at', refresh: 'old-rt', expires: now - 1, scope: 'read', tokenType: 'Bearer' }, other: { keep: true } }))
  return { as, deps, source: new TokenSource(deps) }
}

t.test('a response without refresh_token keeps the old one; extra refresh params are sent', async (t) => {
  const { as, deps, source } = await fakeSetup(t, () => ({ json: { access_token: 'new-at', token_type: 'Bearer', expires_in: 3600 } }), { refreshParams: { scope: 'offline' } })
  t.equal(await source.getAccessToken('acme'), 'new-at')
  t.same(as.requests[0]?.form, { scope: 'offline', grant_type: 'refresh_token', refresh_token: 'old-rt', client_id: 'cid', client_secret: 'csecret' })
  t.same(entry(deps), { type: 'oauth', access: 'new-at', refresh: 'old-rt', expires: deps.clock.now() + HOUR, tokenType: 'Bearer', scope: 'read' })
  t.same(JSON.parse(readFileSync(deps.config.authFile, 'utf8')).other, { keep: true })
})

t.test('invalid_grant after another writer rotated the token: use theirs, no needs_reauth', async (t) => {
  let authFile = ''
  const { deps, source } = await fakeSetup(t, () => {
    // Another tool wrote a newer pair while our request was in flight.
    const data = JSON.parse(readFileSync(authFile, 'utf8'))
    data.acme = { ...data.acme, access: 'their-at', refresh: 'their-rt', expires: Date.UTC(2030, 0, 1) }
    writeFileSync(authFile, JSON.stringify(data))
    return { status: 400, json: { error: 'invalid_grant' } }
  })
  authFile = deps.config.authFile
  t.equal(await source.getAccessToken('acme'), 'their-at')
  t.equal(getConnection(deps.db, 'acme')?.status, 'ok')
  t.equal(undeliveredOutbox(deps.db).length, 0)
})

t.test('5xx, 429 and timeouts keep the tokens and back off; the user is told once when the token runs out', async (t) => {
  let answer: { status: number; json: unknown } = { status: 503, json: { error: 'temporarily_unavailable' } }
  const { as, deps, source } = await fakeSetup(t, () => answer)
  await t.rejects(source.getAccessToken('acme'), { code: 'PROVIDER_UNREACHABLE' })
  t.equal(as.requests.length, 1)
  t.equal(entry(deps).refresh, 'old-rt', 'tokens kept')
  const failing = getConnection(deps.db, 'acme')
  t.equal(failing?.status, 'failing')
  t.equal(failing?.failureCount, 1)
  t.ok((failing?.nextAttemptAt ?? 0) >= deps.clock.now() + 24_000, 'backoff scheduled')

  await t.rejects(source.getAccessToken('acme'), { code: 'PROVIDER_UNREACHABLE' })
  t.equal(as.requests.length, 1, 'no request during the backoff')
  t.equal(undeliveredOutbox(deps.db).filter((m) => m.kind === 'refresh_failing').length, 1, 'told once')

  answer = { status: 429, json: { error: 'slow_down' } }
  deps.clock.advance(40_000)
  await t.rejects(source.getAccessToken('acme'), { code: 'PROVIDER_UNREACHABLE' })
  t.equal(as.requests.length, 2)
  t.equal(getConnection(deps.db, 'acme')?.failureCount, 2)

  answer = { status: 200, json: { access_token: 'at-2', refresh_token: 'rt-2', expires_in: 3600, token_type: 'bearer' } }
  deps.clock.advance(2 * 60_000)
  t.equal(await source.getAccessToken('acme'), 'at-2')
  t.equal(getConnection(deps.db, 'acme')?.status, 'ok')
  t.equal(getConnection(deps.db, 'acme')?.failureCount, 0)
  t.equal(undeliveredOutbox(deps.db).filter((m) => m.kind === 'refresh_failing').length, 1, 'still only one notification')
})

t.test('a token response without a usable access token is not stored as tokens, but its new refresh token is kept', async (t) => {
  const { deps, source } = await fakeSetup(t, () => ({ json: { token_type: 'bearer', refresh_token: 'rt-x' } }))
  await t.rejects(source.getAccessToken('acme'), { code: 'PROVIDER_UNREACHABLE' })
  // No usable access token, but the provider may have rotated already: its new refresh token is kept (issue 9).
  t.equal(entry(deps).refresh, 'rt-x')
  t.equal(getConnection(deps.db, 'acme')?.lastError, 'bad_response')
})

t.test('not connected, unknown provider, corrupt auth file', async (t) => {
  const { deps, source } = await fakeSetup(t, () => ({ json: {} }))
  await t.rejects(source.getAccessToken('dexcom'), { code: 'NOT_CONNECTED', message: 'Dexcom is not connected: run "latchkey connect dexcom"' })
  await t.rejects(source.getAccessToken('nope'), { code: 'PROVIDER_UNKNOWN' })
  writeFileSync(deps.config.authFile, '{"acme": {"type": "oauth", "acc')
  await t.rejects(source.getAccessToken('acme'), { code: 'AUTH_FILE_CORRUPT' })
  t.equal(readFileSync(deps.config.authFile, 'utf8'), '{"acme": {"type": "oauth", "acc', 'the corrupt file is left as it was')
})

t.test('refresh job: renews only inside the margin; reminds of an absolute lifetime once', async (t) => {
  const { as, deps } = await fakeSetup(t, () => ({ json: { access_token: 'fresh', refresh_token: 'r2', expires_in: 7200 } }), { refreshTokenMaxAgeMs: 10 * 24 * HOUR })
  const now = deps.clock.now()
  const write = (expiresIn: number) =>
    writeFileSync(deps.config.authFile, JSON.stringify({ acme: { type: 'oauth', access: 'a', refresh: 'r', expires: now + expiresIn } }))
  const source = new TokenSource(deps)
  write(13 * 60_000)
  deps.db.prepare('INSERT INTO connections (provider, consented_at, requested_scopes, last_refresh_at, updated_at) VALUES (?, ?, ?, ?, ?)').run('acme', now - 8 * 24 * HOUR, 'read', now - 2 * HOUR + 13 * 60_000, now)
  const first = await refreshDueTokens(deps, source)
  t.same(first.refreshed, [], '13 min left of a 2 h token: outside the 12 min margin')
  t.same(first.reminded, ['acme'], 'consent is 8 of 10 days old: reminder')
  t.equal(as.requests.length, 0)
  write(11 * 60_000)
  const second = await refreshDueTokens(deps, source)
  t.same(second.refreshed, ['acme'], '11 min left: renewed')
  t.same(second.reminded, [], 'reminded once')
  const reminders = undeliveredOutbox(deps.db).filter((m) => m.kind === 'reconsent_due')
  t.equal(reminders.length, 1)
  t.match(reminders[0]?.text, /^⏰ Acme access ends in 2 days/)
})

t.test('refresh job: no reminder for a token without a refresh token (nothing there to expire)', async (t) => {
  const { as, deps } = await fakeSetup(t, () => ({ json: {} }), { refreshTokenMaxAgeMs: 10 * 24 * HOUR })
  const now = deps.clock.now()
  // A GitHub OAuth App: one access token, no expiry, no refresh token.
  writeFileSync(deps.config.authFile, JSON.stringify({ acme: { type: 'oauth', access: 'a' } }))
  deps.db.prepare('INSERT INTO connections (provider, consented_at, requested_scopes, updated_at) VALUES (?, ?, ?, ?)').run('acme', now - 9 * 24 * HOUR, 'read', now)
  t.same(await refreshDueTokens(deps, new TokenSource(deps)), { refreshed: [], failing: [], needsReauth: [], reminded: [] })
  t.equal(undeliveredOutbox(deps.db).length, 0, 'no false "access ends" reminder')
  t.equal(as.requests.length, 0)
})

t.test('refresh job: an entry latchkey never connected belongs to another tool and is left alone', async (t) => {
  const { as, deps } = await fakeSetup(t, () => ({ json: { access_token: 'fresh', refresh_token: 'r2', expires_in: 7200 } }))
  const foreign = '{"acme": {"type": "oauth", "access": "theirs", "refresh": "their-rt", "expires": 1}}'
  writeFileSync(deps.config.authFile, foreign)
  deps.db.prepare('DELETE FROM connections').run()
  const summary = await refreshDueTokens(deps, new TokenSource(deps))
  t.same(summary, { refreshed: [], failing: [], needsReauth: [], reminded: [] })
  t.equal(as.requests.length, 0, 'no token request with latchkey’s client for another tool’s grant')
  t.equal(readFileSync(deps.config.authFile, 'utf8'), foreign, 'the entry is untouched')
  t.equal(undeliveredOutbox(deps.db).length, 0, 'no false "needs reconnecting"')
  t.equal(getConnection(deps.db, 'acme'), undefined, 'and not adopted')
})

t.test('a refresh keeps another tool’s entry byte for byte, 64-bit integers included', async (t) => {
  const { deps, source } = await fakeSetup(t, () => ({ json: { access_token: 'new', expires_in: 60 } }))
  const other = '{"userId": 12345678901234567891, "score": 1.50}'
  const current = JSON.parse(readFileSync(deps.config.authFile, 'utf8'))
  writeFileSync(deps.config.authFile, `{"anthropic": ${other}, "acme": ${JSON.stringify(current.acme)}}`)
  t.equal(await source.getAccessToken('acme', { minValidityMs: 0 }), 'new')
  t.match(readFileSync(deps.config.authFile, 'utf8'), `"anthropic": ${other}`)
})
