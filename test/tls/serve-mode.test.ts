// Behind `tailscale serve`: loopback listener, forwarded headers believed from loopback only,
// a tailnet login required, Funnel traffic refused.
import t from 'tap'
import { parseConfig } from '../../src/config.js'
import { buildServer } from '../../src/http/server.js'
import { decodeRfc2047 } from '../../src/http/tailscale-serve.js'
import { testConfig, testDeps, type Teardown } from '../support/deps.js'

const PUBLIC = 'https://beryllium.tailnet.ts.net:8400'

async function serveApp(t: Teardown, extra: Record<string, unknown> = {}) {
  const deps = testDeps(t, { config: testConfig(t, { tls: 'tailscale-serve', publicUrl: PUBLIC, listen: { host: '127.0.0.1', port: 8401 }, ...extra }) })
  const app = await buildServer(deps, { apiToken: 'x'.repeat(40), callbackWaitMs: 0 })
  t.teardown(() => app.close())
  return { app, deps }
}

const viaServe = (login?: string, more: Record<string, string> = {}) => ({
  remoteAddress: '127.0.0.1',
  headers: { 'x-forwarded-for': '100.101.102.103', 'x-forwarded-proto': 'https', ...(login ? { 'tailscale-user-login': login } : {}), ...more },
})

t.test('a tailnet user through serve is let in; no login, or Funnel, is refused', async (t) => {
  const { app } = await serveApp(t)
  const ok = await app.inject({ url: '/healthz', ...viaServe('alice@example.com') })
  t.equal(ok.statusCode, 200)

  const anonymous = await app.inject({ url: '/oauth/callback?state=x', ...viaServe() })
  t.equal(anonymous.statusCode, 403, 'a tagged node or non-tailnet traffic names no user')
  t.match(anonymous.json(), { error: 'forbidden', message: /only users of this tailnet/ })

  const funnel = await app.inject({ url: '/healthz', ...viaServe('alice@example.com', { 'tailscale-funnel-request': '?1' }) })
  t.equal(funnel.statusCode, 403, 'Funnel traffic is refused even with a login')
  t.match(funnel.json().message, /public internet/)

  const local = await app.inject({ url: '/healthz', remoteAddress: '127.0.0.1' })
  t.equal(local.statusCode, 200, 'pm2 on this machine may read /healthz directly')
  const localOther = await app.inject({ url: '/oauth/pending/' + 'a'.repeat(43), remoteAddress: '127.0.0.1' })
  t.equal(localOther.statusCode, 403, 'but nothing else without serve’s headers')
})

t.test('allowedTailnetUsers narrows who may come in (RFC 2047 names decoded)', async (t) => {
  const { app } = await serveApp(t, { allowedTailnetUsers: ['jörg@example.com'] })
  t.equal(decodeRfc2047('=?utf-8?q?j=C3=B6rg@example.com?='), 'jörg@example.com')
  t.equal((await app.inject({ url: '/healthz', ...viaServe('=?utf-8?q?j=C3=B6rg@example.com?=') })).statusCode, 200)
  const other = await app.inject({ url: '/healthz', ...viaServe('mallory@example.com') })
  t.equal(other.statusCode, 403)
  t.match(other.json().message, /this tailnet user may not use latchkey/)
})

t.test('forwarded headers count only from loopback', async (t) => {
  const { app } = await serveApp(t)
  // A peer that is not serve claims to forward for a tailnet address: its own address decides.
  const spoofed = await app.inject({ url: '/healthz', remoteAddress: '192.0.2.7', headers: { 'x-forwarded-for': '100.64.0.9', 'tailscale-user-login': 'alice@example.com' } })
  t.equal(spoofed.statusCode, 403)
  t.match(spoofed.json().message, /this address may not use latchkey/)
  // serve forwarding a peer outside the allowed networks is refused too.
  const outside = await app.inject({ url: '/healthz', remoteAddress: '127.0.0.1', headers: { 'x-forwarded-for': '203.0.113.5', 'tailscale-user-login': 'alice@example.com' } })
  t.equal(outside.statusCode, 403)
  // A tailnet peer connecting straight to the socket (not through serve) cannot name itself a user.
  const direct = await app.inject({ url: '/healthz', remoteAddress: '100.64.0.9', headers: { 'tailscale-user-login': 'alice@example.com' } })
  t.equal(direct.statusCode, 403)
  t.match(direct.json().message, /accepts connections from this machine only/)
  const mapped = await app.inject({ url: '/healthz', ...viaServe('alice@example.com'), remoteAddress: '::ffff:127.0.0.1' })
  t.equal(mapped.statusCode, 200, 'loopback as a mapped IPv6 address is this machine')
})

t.test('config: serve mode needs a loopback listener; https publicUrl; users only with serve', async (t) => {
  const bad = () =>
    parseConfig({ tls: 'tailscale-serve', listen: { host: '100.64.0.1' }, publicUrl: 'http://100.64.0.1:8400', allowedTailnetUsers: ['a@b'] })
  t.throws(bad, { code: 'CONFIG_INVALID', message: /listen\.host: must be loopback behind tailscale serve \(got "100\.64\.0\.1"\)/ })
  t.throws(bad, { message: /publicUrl: expected an https URL, got "http:\/\/100\.64\.0\.1:8400"/ })
  t.throws(() => parseConfig({ allowedTailnetUsers: ['a@b'] }), { message: /allowedTailnetUsers: only applies with tls: "tailscale-serve"/ })
  t.throws(() => parseConfig({ tls: 'tailscale-serve', publicUrl: 'http://127.0.0.1:8400' }), { message: /publicUrl: must be https when tls is set/ })
  t.throws(() => parseConfig({ publicUrl: 'http://beryllium.tailnet.ts.net:8400' }), { message: /publicUrl: expected an https URL, got "http:\/\/beryllium/ }, 'plain http off loopback is refused')
})
