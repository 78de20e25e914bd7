// A config `providers.<id>` entry with a `url`: a client registered by hand at a server connected
// by URL. Against real peers (the SDK MCP server, oidc-provider with registration open): no
// Dynamic Client Registration, the entry's id and client, tokens the MCP server accepts.
import t from 'tap'
import { parseConfig } from '../../src/config.js'
import { startTestDaemon } from '../support/daemon.js'
import { CookieBrowser } from '../support/cookie-browser.js'
import { freePort } from '../support/deps.js'
import { listTools } from '../support/mcp-client.js'
import { mcpWorld } from '../support/mcp-world.js'
import { codeExchanges } from '../support/oidc-server.js'
import { TokenSource } from '../../src/oauth/refresh.js'

const SECRET = 'pre-registered-secret-canary-0123456789'

t.test('connect <url> with a configured client: no registration, the entry id, tokens that work', async (t) => {
  const port = await freePort()
  const publicUrl = `http://127.0.0.1:${port}`
  const { mcp, as } = await mcpWorld(t, {
    clients: [{ clientId: 'hand-made', clientSecret: SECRET, redirectUris: [`${publicUrl}/oauth/callback`], authMethod: 'client_secret_basic' }],
  })
  const d = await startTestDaemon(t, {
    listen: { host: '127.0.0.1', port },
    publicUrl,
    providers: { 'my-mcp': { url: mcp.url, clientId: 'hand-made', clientSecret: SECRET, clientAuth: 'basic' } },
  })
  const res = await d.api('/oauth/flows', { method: 'POST', body: JSON.stringify({ url: `${mcp.url}#x` }) })
  const body = (await res.json()) as { provider: string; startUrl: string; state: string; authorizationUrl: string }
  t.equal(res.status, 201, JSON.stringify(body))
  t.equal(body.provider, 'my-mcp', "the config entry's id")
  t.equal(as.registrations.length, 0, 'no dynamic registration')
  t.equal(new URL(body.authorizationUrl).searchParams.get('client_id'), 'hand-made')

  await new CookieBrowser().get(body.startUrl)
  const pending = (await (await d.api(`/oauth/pending/${body.state}?wait=60`)).json()) as { status: string }
  t.equal(pending.status, 'connected', JSON.stringify(pending))
  t.ok(codeExchanges(as)[0]?.usedBasicAuth, 'client_secret_basic as configured')
  const tokens = new TokenSource(d.daemon.deps)
  t.same(await listTools(mcp.url, await tokens.getAccessToken('my-mcp', { minValidityMs: 3000 })), ['echo', 'whoami'])
  t.notMatch(d.logs.text(), SECRET, 'the client secret never reaches the log')
})

t.test('a url entry is validated by zod, with every problem named', async (t) => {
  const bad = (providers: Record<string, unknown>) => {
    try {
      parseConfig({ providers }, {})
      return ''
    } catch (err) {
      return (err as Error).message
    }
  }
  t.match(bad({ x: { url: 'http://mcp.example.com/mcp', clientId: 'a' } }), 'providers.x.url: expected an https URL, got "http://mcp.example.com/mcp"')
  t.match(bad({ x: { url: 'https://mcp.example.com/mcp' } }), 'providers.x.clientId: required with a url: the client id registered at that server')
  t.match(bad({ x: { url: 'https://mcp.example.com/mcp', clientId: 'a', tokenUrl: 'https://a.example.com/t' } }), 'providers.x: with a url only clientId, clientSecret and clientAuth may be given (not tokenUrl)')
  t.match(bad({ github: { url: 'https://mcp.example.com/mcp', clientId: 'a' } }), 'providers.github.url: a built-in provider has no url')
  t.match(bad({ x: { url: 'https://mcp.example.com/mcp', clientId: 'a', clientSecret: SECRET, clientAuth: 'jwt' } }), /providers\.x\.clientAuth: /)
  t.notMatch(bad({ x: { url: 'https://mcp.example.com/mcp', clientId: 'a', clientSecret: SECRET, clientAuth: 'jwt' } }), SECRET, 'the secret is never echoed')
  const ok = parseConfig({ providers: { x: { url: 'https://mcp.example.com/mcp', clientId: 'a' } } }, {})
  t.same(ok.urlProviders, { x: { url: 'https://mcp.example.com/mcp', clientId: 'a' } })
  t.notOk(Object.hasOwn(ok.providers, 'x'), 'not a provider until discovered')
})
