// Connect by URL against real peers: an MCP server built with the MCP SDK and oidc-provider with
// dynamic registration, resource indicators and RFC 9207. POST /oauth/flows {"url"} → discovery
// and registration → the start link through the auto-approving server → tokens for that MCP
// server only → its tools listed with the stored token → refresh with `resource` → still works.
import { writeFileSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import t from 'tap'
import { main } from '../../src/cli/main.js'
import { createDeps } from '../../src/deps.js'
import { TokenSource } from '../../src/oauth/refresh.js'
import { CookieBrowser } from '../support/cookie-browser.js'
import { TEST_API_TOKEN, startTestDaemon, type FlowAnswer, type TestDaemon } from '../support/daemon.js'
import { tempDir } from '../support/deps.js'
import { until } from '../bot/harness.js'
import { listTools } from '../support/mcp-client.js'
import { mcpWorld } from '../support/mcp-world.js'
import { codeExchanges } from '../support/oidc-server.js'

async function postUrl(d: TestDaemon, url: string): Promise<{ status: number; body: FlowAnswer & { provider: string; error?: string; message?: string } }> {
  const res = await d.api('/oauth/flows', { method: 'POST', body: JSON.stringify({ url }) })
  return { status: res.status, body: (await res.json()) as FlowAnswer & { provider: string } }
}

/**
 * Lists the tools the way an agent would: a token valid for most of its 5 s, and on a 401 (the
 * token aged out while this busy machine was slow) a fresh one, at most three times.
 */
async function listWithFreshToken(tokens: TokenSource, id: string, url: string): Promise<string[]> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await listTools(url, await tokens.getAccessToken(id, { minValidityMs: 4_000 }))
    } catch (err) {
      if ((err as { code?: number }).code !== 401 || attempt === 3) throw err
    }
  }
}

t.test('connect an MCP server by its URL, use the token, refresh with resource, survive a restart', async (t) => {
  const { mcp, as } = await mcpWorld(t)
  const d = await startTestDaemon(t)
  const port = new URL(mcp.url).port

  const started = await postUrl(d, mcp.url)
  t.equal(started.status, 201, JSON.stringify(started.body))
  const id = started.body.provider
  t.equal(id, `127-0-0-1-${port}`, 'the id is derived from the host and port')

  t.equal(as.registrations.length, 1, 'latchkey registered itself once')
  const reg = as.registrations[0] as Record<string, unknown>
  t.same(reg.redirect_uris, [`${d.config.publicUrl}/oauth/callback`], 'the exact redirect URI')
  t.equal(reg.client_name, 'latchkey')
  t.equal(reg.application_type, 'web')
  t.equal(reg.token_endpoint_auth_method, 'client_secret_basic')

  const authorize = new URL(started.body.authorizationUrl)
  t.equal(authorize.origin, as.issuer)
  t.equal(authorize.searchParams.get('resource'), mcp.url, 'RFC 8707 resource on the authorization request')
  t.equal(authorize.searchParams.get('code_challenge_method'), 'S256')
  t.equal(authorize.searchParams.get('scope'), 'mcp:tools offline_access', 'scopes from the challenge, offline_access as advertised')

  const page = await new CookieBrowser().get(started.body.startUrl)
  t.equal(page.status, 200)
  const pending = (await (await d.api(`/oauth/pending/${started.body.state}?wait=60`)).json()) as { status: string }
  t.equal(pending.status, 'connected', JSON.stringify(pending))
  const exchange = codeExchanges(as)
  t.equal(exchange.length, 1)
  t.equal(exchange[0]?.params.resource, mcp.url, 'resource on the code exchange')
  t.ok(exchange[0]?.usedBasicAuth, 'the registered client authenticates as registered')

  // Any later surface takes the id: the library's token source here (a second process would do the same).
  const deps = createDeps(d.config, { log: d.daemon.deps.log })
  t.teardown(() => deps.db.close())
  const tokens = new TokenSource(deps)
  const first = await tokens.getAccessToken(id, { minValidityMs: 0 })
  t.same(await listWithFreshToken(tokens, id, mcp.url), ['echo', 'whoami'], 'the MCP server accepts the stored token')

  // Access tokens live 5 s: asking for more validity than that forces a refresh, which must name the resource.
  const second = await tokens.getAccessToken(id, { minValidityMs: 60_000 })
  t.not(second, first, 'refreshed')
  const refresh = as.tokenRequests.filter((r) => r.grantType === 'refresh_token')
  t.ok(refresh.length >= 1)
  t.ok(refresh.every((r) => r.params.resource === mcp.url), 'resource on every refresh')
  t.same(await listWithFreshToken(tokens, id, mcp.url), ['echo', 'whoami'], 'refreshed tokens keep working')
  t.ok(mcp.checks.some((c) => c.ok))
  t.notOk(mcp.checks.some((c) => !c.ok && c.reason !== 'ERR_JWT_EXPIRED'), 'no token was refused for any reason but age')

  const auth = JSON.parse(await readFile(d.config.authFile, 'utf8')) as Record<string, unknown>
  t.ok(auth[id], 'auth.json is keyed by the derived id')

  // Same URL again: same id, the registered client reused, the metadata from SQLite.
  const again = await postUrl(d, mcp.url)
  t.equal(again.status, 201)
  t.equal(again.body.provider, id)
  t.equal(as.registrations.length, 1, 'no second registration')
})

t.test('RFC 9207 at the callback of a discovered server that advertises iss', async (t) => {
  const { mcp, as } = await mcpWorld(t)
  const d = await startTestDaemon(t)
  for (const [name, edit] of [
    ['iss missing', (u: URL) => u.searchParams.delete('iss')],
    ['iss of another server', (u: URL) => u.searchParams.set('iss', 'http://127.0.0.1:1')],
  ] as const) {
    const started = await postUrl(d, mcp.url)
    t.equal(started.status, 201)
    const browser = new CookieBrowser()
    const stop = await browser.get(started.body.startUrl, { stopAt: (u) => u.startsWith(`${d.config.publicUrl}/oauth/callback`) })
    const callback = new URL(String(stop.headers.location))
    t.equal(callback.searchParams.get('iss'), as.issuer, `${name}: the server sent its iss`)
    edit(callback)
    const page = await browser.get(callback.href)
    t.equal(page.status, 400, `${name}: 400`)
    t.match(page.body, /did not come from/)
    const pending = (await (await d.api(`/oauth/pending/${started.body.state}`)).json()) as { status: string }
    t.equal(pending.status, 'waiting', `${name}: the flow was not touched`)
  }
  t.equal(codeExchanges(as).length, 0, 'no code was exchanged')
})

t.test('hostile servers through POST /oauth/flows: a clear 422 and nothing stored', async (t) => {
  const d = await startTestDaemon(t)
  const other = await mcpWorld(t, { resourceOverride: 'https://elsewhere.example.com/mcp' })
  const res = await postUrl(d, other.mcp.url)
  t.equal(res.status, 422)
  t.equal(res.body.error, 'discovery_refused')
  t.match(res.body.message, /another resource/)
  const count = (table: string) => (d.daemon.deps.db.prepare(`SELECT COUNT(*) AS n FROM ${table}`).get() as { n: number }).n
  t.equal(count('discovered_providers'), 0)
  t.equal(count('registered_clients'), 0)
  t.equal(count('oauth_flows'), 0)
  t.equal(other.as.registrations.length, 0)

  const bad = await d.api('/oauth/flows', { method: 'POST', body: JSON.stringify({ url: 'http://mcp.example.com/mcp' }) })
  t.equal(bad.status, 422)
  t.match(((await bad.json()) as { message: string }).message, /plain http to mcp\.example\.com is not allowed/)
  const both = await d.api('/oauth/flows', { method: 'POST', body: JSON.stringify({ url: other.mcp.url, provider: 'dexcom' }) })
  t.equal(both.status, 400)
})

t.test('latchkey connect <url>: the CLI prints where the user signs in and the id, and reports ✅', async (t) => {
  const { mcp, as } = await mcpWorld(t)
  const d = await startTestDaemon(t)
  const dir = tempDir(t)
  const configPath = join(dir, 'config.json')
  writeFileSync(configPath, JSON.stringify({ listen: d.config.listen, dataDir: d.config.dataDir, authFile: d.config.authFile, apiToken: TEST_API_TOKEN, logLevel: 'warn' }))
  const lines: string[] = []
  const out = { info: (s: string) => lines.push(s), error: (s: string) => lines.push(`ERR ${s}`) }
  const running = main(['connect', mcp.url], { LATCHKEY_CONFIG: configPath, HOME: dir }, out)
  const link = await until(() => lines.join('\n').match(/https?:\/\/\S+\/oauth\/start\/[A-Za-z0-9_-]{43}/)?.[0], 60_000)
  t.ok(link, lines.join('\n'))
  t.match(lines.join('\n'), `You'll sign in at ${new URL(as.issuer).host} for ${new URL(mcp.url).host}. This connection's id is 127-0-0-1-${new URL(mcp.url).port}`)
  await new CookieBrowser().get(String(link))
  t.equal(await running, 0, lines.join('\n'))
  t.match(lines.join('\n'), new RegExp(`✅ ${new URL(mcp.url).host} connected`))
})
