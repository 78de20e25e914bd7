// /proxy/<connection>/<path> against a real provider: oidc-provider issues the tokens, a resource
// API on loopback checks them by introspection, the real daemon forwards.
import { readFileSync, writeFileSync } from 'node:fs'
import t from 'tap'
import { listAudit } from '../../src/broker/audit.js'
import { undeliveredOutbox } from '../../src/db/outbox.js'
import { fakeServer } from '../support/deps.js'
import { brokerWorld, CLIENT_SECRET, type BrokerWorld } from './world.js'

// One world for the tests that do not change its config or its tokens (each world costs seconds).
let shared: Promise<BrokerWorld> | undefined
const world = () => (shared ??= brokerWorld(t))

t.test('a GET goes to the API base joined with the path and query, with a fresh provider token', async (t) => {
  const w = await world()
  const agent = w.agent('reader', ['acme:GET:/v1/'])
  const res = await w.call('/proxy/acme/v1/me?x=1&y=two', { token: agent, headers: { cookie: 'a=b', 'proxy-authorization': 'Basic xx', 'x-custom': 'kept' } })
  t.equal(res.status, 200)
  t.same(await res.json(), { sub: 'user-1', query: '?x=1&y=two' })
  const seen = w.api.seen.at(-1)
  t.equal(seen?.url, '/api/v1/me?x=1&y=two', 'the base path /api is kept')
  t.match(seen?.headers.authorization, /^Bearer .+/)
  t.not(seen?.headers.authorization, `Bearer ${agent}`, 'the agent token is not sent upstream')
  t.ok(w.issued().includes(String(seen?.headers.authorization).slice('Bearer '.length)), 'the token is one the provider issued')
  t.equal(seen?.headers.cookie, undefined, 'caller cookie stripped')
  t.equal(seen?.headers['proxy-authorization'], undefined, 'Proxy-* stripped')
  t.equal(seen?.headers['x-custom'], 'kept')
  const rows = listAudit(w.d.daemon.deps.db, 0).filter((r) => r.agent === 'reader')
  t.equal(rows.length, 1)
  t.match(rows[0], { agent: 'reader', connection: 'acme', method: 'GET', path: '/v1/me', status: 200 })
  t.ok((rows[0]?.bytes ?? 0) > 0, 'bytes counted')
})

t.test('the contract errors: 401, 403, 404, 409', async (t) => {
  const w = await world()
  const before = w.api.seen.length
  const no = await fetch(`${w.d.config.publicUrl}/proxy/acme/v1/me`)
  t.equal(no.status, 401)
  t.match(await no.json(), { error: 'unauthorized', message: String })
  t.equal((await w.call('/proxy/acme/v1/me', { token: 'lka_not-a-real-token' })).status, 401)
  const unknown = await w.call('/proxy/nosuch/v1/me')
  t.equal(unknown.status, 404)
  t.match(await unknown.json(), { error: 'unknown_connection' })
  const noApi = await w.call('/proxy/noapi/v1/me')
  t.equal(noApi.status, 409)
  t.match(await noApi.json(), { error: 'no_api_base', message: /no API base URL.*providers\.noapi\.apiBaseUrl/ })
  const notConnected = await w.call('/proxy/github/user')
  t.equal(notConnected.status, 409)
  t.match(await notConnected.json(), { error: 'not_connected' })
  t.equal(w.api.seen.length, before, 'nothing reached the API')
})

t.test('request log: an answered proxied request at debug (its audit row records it), a refusal at info', async (t) => {
  const w = await world()
  const token = w.agent('logged', ['acme:GET:/v1/me'])
  t.equal((await w.call('/proxy/acme/v1/me', { token })).status, 200)
  t.equal((await w.call('/proxy/acme/v2/logged', { token })).status, 403)
  const lines = w.d.logs.lines()
  const line = (re: RegExp) => lines.find((l) => typeof l.msg === 'string' && re.test(l.msg))
  t.match(line(/^GET \/proxy\/acme\/v1\/me 200 \d+ ms$/), { level: 20 }, 'answered: debug')
  t.match(line(/^GET \/proxy\/acme\/v2\/logged 403 \d+ ms$/), { level: 30 }, 'refused: info')
})

t.test('scope table: method, path prefix and connection outside the scope are 403 and reach nothing', async (t) => {
  const w = await world()
  const token = w.agent('narrow', ['acme:GET:/v1/me', 'github:*'])
  const cases: [string, string][] = [
    ['POST', '/proxy/acme/v1/me'],
    ['DELETE', '/proxy/acme/v1/me'],
    ['GET', '/proxy/acme/v1/mex'],
    ['GET', '/proxy/acme/v2/me'],
    ['GET', '/proxy/acme/v1/me/../../admin'],
    ['GET', '/proxy/acme/'],
    ['GET', '/proxy/noapi/v1/me'],
  ]
  const before = w.api.seen.length
  for (const [method, path] of cases) {
    const res = await w.call(path, { method, token, ...(method === 'POST' ? { body: '{}' } : {}) })
    t.equal(res.status, 403, `${method} ${path}`)
    t.match(await res.json(), { error: 'forbidden', message: String })
  }
  t.equal(w.api.seen.length, before, 'no request reached the API')
  t.equal((await w.call('/proxy/acme/v1/me/', { token })).status, 404, 'under the prefix: allowed (the API has no such route)')
  t.equal((await w.call('/proxy/acme/v1/me', { token })).status, 200, 'the prefix itself: allowed')
  const refused = listAudit(w.d.daemon.deps.db, 0).filter((r) => r.agent === 'narrow' && r.status === 403)
  t.equal(refused.length, cases.length, 'refusals are audited too')
})

t.test('hostile paths are refused and nothing is sent upstream', async (t) => {
  const w = await world()
  const token = w.agent('any', ['acme'])
  const hostile = [
    '/proxy/acme//evil.example/x',
    '/proxy/acme/..',
    '/proxy/acme/../x',
    '/proxy/acme/v1/../../x',
    '/proxy/acme/%2e%2e/x',
    '/proxy/acme/%2E%2E/x',
    '/proxy/acme/.%2e/x',
    '/proxy/acme/v1%2f..%2f..%2fx',
    '/proxy/acme/v1%2Fme',
    '/proxy/acme/v1%5cme',
    '/proxy/acme/%252e%252e/x',
    '/proxy/acme/http://evil.example/x',
    '/proxy/acme/https:%2f%2fevil.example',
    '/proxy/acme/v1/%00',
  ]
  // Sent with node:http as written: fetch would resolve the dots and turn backslashes into "/".
  const { request } = await import('node:http')
  const raw = (path: string) =>
    new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = request(w.d.config.publicUrl, { path, headers: { authorization: `Bearer ${token}` } }, (res) => {
        let body = ''
        res.on('data', (c) => (body += c))
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }))
      })
      req.on('error', reject)
      req.end()
    })
  const before = w.api.seen.length
  for (const path of [...hostile, '/proxy/acme/v1\\..\\..\\x']) {
    const res = await raw(path)
    t.equal(res.status, 400, path)
    t.match(JSON.parse(res.body), { error: 'invalid_path', message: /^the path / }, path)
  }
  t.equal(w.api.seen.length, before, 'no request reached the API')
  t.equal((await raw('/proxy/acme/v1/x/../me')).status, 200, 'an inner .. that stays under the base is resolved')
  t.equal(w.api.seen.at(-1)?.url, '/api/v1/me')
})

t.test('redirects: same-base Location rewritten to /proxy, another origin passed back and never followed', async (t) => {
  const w = await world()
  const foreign = await fakeServer(t, () => ({ json: { foreign: true } }))
  w.api.setForeignUrl(`${foreign.url}/steal`)
  const inside = await w.call('/proxy/acme/redirect-in', { redirect: 'manual' })
  t.equal(inside.status, 302)
  t.equal(inside.headers.get('location'), '/proxy/acme/v1/me?from=redirect')
  const out = await w.call('/proxy/acme/redirect-out', { redirect: 'manual' })
  t.equal(out.status, 302)
  t.equal(out.headers.get('location'), `${foreign.url}/steal`)
  t.equal(foreign.requests.length, 0, 'the other origin saw nothing')
})

t.test('response headers: set-cookie and hop-by-hop stripped; bodies stream both ways', async (t) => {
  const w = await world()
  const cookie = await w.call('/proxy/acme/cookie')
  t.equal(cookie.status, 200)
  t.equal(cookie.headers.get('set-cookie'), null)
  const hop = await w.call('/proxy/acme/hop')
  t.equal(await hop.text(), 'hop')
  t.equal(hop.headers.get('x-secret-hop'), null, 'a header named in Connection is hop-by-hop')
  t.equal(hop.headers.get('proxy-authenticate'), null)
  const posted = await w.call('/proxy/acme/v1/echo', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ hello: 'world' }) })
  t.same(await posted.json(), { length: 17, body: '{"hello":"world"}' })
  // A chunked body (no length) streams upstream.
  const { Readable } = await import('node:stream')
  const big = 'x'.repeat(200_000)
  const chunked = await w.call('/proxy/acme/v1/echo', { method: 'POST', body: Readable.toWeb(Readable.from([big.slice(0, 100_000), big.slice(100_000)])) as ReadableStream, duplex: 'half' } as RequestInit)
  t.equal(((await chunked.json()) as { length: number }).length, 200_000)
  const download = await w.call('/proxy/acme/big?bytes=3000000')
  t.equal((await download.arrayBuffer()).byteLength, 3_000_000, 'a large download is not capped')
  const sse = await w.call('/proxy/acme/sse')
  t.equal(sse.headers.get('content-type'), 'text/event-stream')
  t.equal(await sse.text(), 'data: one\n\ndata: two\n\n')
  const rows = listAudit(w.d.daemon.deps.db, 0)
  t.equal(rows.find((r) => r.path === '/big')?.bytes, 3_000_000, 'the audit counts the bytes streamed')
})

t.test('limits: body cap, rate limit, upstream timeout', async (t) => {
  const slow = await fakeServer(t, () => ({ json: {}, delayMs: 6_000 }))
  const w = await brokerWorld(t, { broker: { maxRequestBytes: 1000, rateLimitPerMinute: 3, upstreamTimeoutMs: 2_000 } }, { slow: { authorizationUrl: `${slow.url}/a`, tokenUrl: `${slow.url}/t`, apiBaseUrl: slow.url } })
  const file = w.d.daemon.deps.config.authFile
  writeFileSync(file, JSON.stringify({ ...JSON.parse(readFileSync(file, 'utf8')), slow: { type: 'oauth', access: 'slow-access', expires: Date.now() + 3_600_000 } }), { mode: 0o600 })
  const token = w.agent('small', ['acme'])
  const before = w.api.seen.length
  const tooBig = await w.call('/proxy/acme/v1/echo', { method: 'POST', token, body: 'x'.repeat(1001) })
  t.equal(tooBig.status, 413)
  t.match(await tooBig.json(), { error: 'body_too_large', message: /1000 bytes/ })
  t.equal(w.api.seen.length, before, 'a declared oversize body is never sent')
  // A chunked body (no length) is cut off where it passes the cap.
  const { Readable } = await import('node:stream')
  const streamed = await w.call('/proxy/acme/v1/echo', { method: 'POST', body: Readable.toWeb(Readable.from(['x'.repeat(800), 'x'.repeat(800)])) as ReadableStream, duplex: 'half' } as RequestInit)
  t.equal(streamed.status, 413)
  t.match(await streamed.json(), { error: 'body_too_large', message: /1000 bytes/ })
  t.equal((await w.call('/proxy/acme/v1/me', { token })).status, 200)
  t.equal((await w.call('/proxy/acme/v1/me', { token })).status, 200)
  const limited = await w.call('/proxy/acme/v1/me', { token })
  t.equal(limited.status, 429)
  t.ok(Number(limited.headers.get('retry-after')) > 0)
  t.match(await limited.json(), { error: 'rate_limited', message: /3 requests in a minute/ })
  t.equal((await w.call('/proxy/acme/v1/me')).status, 200, 'the limit is per caller')
  const timedOut = await w.call('/proxy/slow/x')
  t.equal(timedOut.status, 504)
  t.match(await timedOut.json(), { error: 'upstream_timeout', message: /2000 ms/ })
})

t.test('upstream 401: one refresh, then the request is replayed', async (t) => {
  const w = await world()
  const file = w.d.daemon.deps.config.authFile
  const auth = JSON.parse(readFileSync(file, 'utf8')) as Record<string, Record<string, unknown>>
  // The provider no longer accepts this access token, though latchkey thinks it is valid.
  writeFileSync(file, JSON.stringify({ ...auth, acme: { ...auth.acme, access: 'revoked-access-token', expires: Date.now() + 3_600_000 } }), { mode: 0o600 })
  const refreshesBefore = w.as.tokenRequests.filter((r) => r.grantType === 'refresh_token').length
  const echoesBefore = w.api.seen.filter((s) => s.url === '/api/v1/echo').length
  const res = await w.call('/proxy/acme/v1/echo', { method: 'POST', body: 'replay me' })
  t.equal(res.status, 200)
  t.same(await res.json(), { length: 9, body: 'replay me' }, 'the buffered body was sent again')
  t.equal(w.as.tokenRequests.filter((r) => r.grantType === 'refresh_token').length, refreshesBefore + 1, 'exactly one refresh')
  t.equal(w.api.seen.filter((s) => s.url === '/api/v1/echo').length, echoesBefore + 2, 'first try and one replay')
})

t.test('a revoked grant: 409 needs_reauth and one chat notification', async (t) => {
  const w = await brokerWorld(t)
  const file = w.d.daemon.deps.config.authFile
  const auth = JSON.parse(readFileSync(file, 'utf8')) as Record<string, Record<string, unknown>>
  writeFileSync(file, JSON.stringify({ ...auth, acme: { ...auth.acme, access: 'dead-access', refresh: 'dead-refresh', expires: Date.now() + 3_600_000 } }), { mode: 0o600 })
  const first = await w.call('/proxy/acme/v1/me')
  t.equal(first.status, 409)
  t.match(await first.json(), { error: 'needs_reauth', message: /connect acme/ })
  const second = await w.call('/proxy/acme/v1/me')
  t.equal(second.status, 409)
  const notices = undeliveredOutbox(w.d.daemon.deps.db).filter((m) => m.kind === 'needs_reauth')
  t.equal(notices.length, 1, 'one notification (with its reconnect button, from the outbox kind)')
})

t.test('canary: no provider token or client secret in any response, log or audit row', async (t) => {
  const w = await world()
  const token = w.agent('canary', ['acme'])
  const bodies: string[] = []
  for (const path of ['/proxy/acme/v1/me', '/proxy/acme/redirect-in', '/proxy/acme/nope', '/proxy/acme/%2e%2e', '/proxy/github/x', '/proxy/noapi/x']) {
    const res = await w.call(path, { token, redirect: 'manual' })
    bodies.push(JSON.stringify([...res.headers]), await res.text())
  }
  const secrets = [...w.issued(), CLIENT_SECRET]
  t.ok(secrets.length >= 2)
  const everything = [bodies.join('\n'), w.d.logs.text(), JSON.stringify(listAudit(w.d.daemon.deps.db, 0))].join('\n')
  for (const s of secrets) t.notOk(everything.includes(s), 'a provider secret leaked')
  t.notOk(w.d.logs.text().includes(token), 'the agent token is not logged')
})
