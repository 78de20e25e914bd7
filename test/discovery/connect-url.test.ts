import t from 'tap'
import { prepareUrlConnection } from '../../src/discovery/connect-url.js'
import { deriveProviderId } from '../../src/discovery/provider-id.js'
import { fakeServer, testDeps, type RecordedRequest } from '../support/deps.js'

function issuerDocs(base: string, req: RecordedRequest, reg: { status: number; json: Record<string, unknown> }) {
  if (req.url === '/' && req.method === 'POST') return { status: 200, json: {} } // no challenge: an issuer
  if (req.url === '/.well-known/oauth-authorization-server')
    return {
      json: {
        issuer: base,
        authorization_endpoint: `${base}/auth`,
        token_endpoint: `${base}/token`,
        registration_endpoint: `${base}/reg`,
        revocation_endpoint: `${base}/revoke`,
        response_types_supported: ['code'],
        code_challenge_methods_supported: ['S256'],
        token_endpoint_auth_methods_supported: ['client_secret_post'],
        scopes_supported: ['openid', 'offline_access'],
      },
    }
  if (req.url === '/reg') return reg.status === 201 ? { ...reg, json: { ...reg.json, redirect_uris: (JSON.parse(req.body) as { redirect_uris: string[] }).redirect_uris } } : reg
  return { status: 404, json: {} }
}

const count = (deps: ReturnType<typeof testDeps>, table: string) => (deps.db.prepare(`SELECT COUNT(*) AS n FROM ${table}`).get() as { n: number }).n

t.test('registration refused: a clear message, only the OAuth error code shown, nothing stored', async (t) => {
  let base = ''
  const server = await fakeServer(t, (req) => issuerDocs(base, req, { status: 400, json: { error: 'invalid_client_metadata', error_description: 'canary-description <script>' } }))
  base = server.url
  const deps = testDeps(t)
  const err = (await prepareUrlConnection(deps, base).catch((e: unknown) => e)) as Error & { code?: string }
  t.equal(err.code, 'DISCOVERY_REFUSED')
  t.match(err.message, /refused to register latchkey as a client \(invalid_client_metadata\)$/)
  t.equal(count(deps, 'discovered_providers'), 0)
  t.equal(count(deps, 'registered_clients'), 0)
  t.notOk(Object.hasOwn(deps.config.providers, '127-0-0-1-' + new URL(base).port))
})

t.test('an issuer URL: registered once (client_secret_post as offered), stored, then served from the cache', async (t) => {
  let base = ''
  const server = await fakeServer(t, (req) => issuerDocs(base, req, { status: 201, json: { client_id: 'dcr-client', client_secret: 'dcr-secret-canary', token_endpoint_auth_method: 'client_secret_post', redirect_uris: [] } }))
  base = server.url
  const deps = testDeps(t)
  const first = await prepareUrlConnection(deps, base)
  t.equal(first.kind, 'ready')
  t.equal(first.cached, false)
  const id = `127-0-0-1-${new URL(base).port}`
  t.equal(first.provider.providerId, id)
  t.equal(first.provider.clientId, 'dcr-client')
  t.equal(first.provider.clientAuth, 'body')
  t.equal(first.provider.revocationUrl, `${base}/revoke`)
  t.equal(first.provider.apiBaseUrl, undefined, 'an issuer is not an API')
  t.same(first.provider.extraParams, {}, 'no resource indicator for a plain issuer')
  const reg = JSON.parse(server.requests.find((r) => r.url === '/reg')?.body ?? '{}') as Record<string, unknown>
  t.equal(reg.token_endpoint_auth_method, 'client_secret_post')
  t.same(reg.redirect_uris, [deps.config.redirectUri])
  t.equal(reg.scope, 'openid offline_access')

  const requests = server.requests.length
  const again = await prepareUrlConnection(deps, `${base}/`)
  t.equal(again.cached, true)
  t.equal(again.provider.providerId, id, 'the same URL keeps its id')
  t.equal(server.requests.length, requests, 'no request: metadata and client from SQLite')
  t.notMatch(deps.logs.text(), 'dcr-secret-canary', 'the registered secret never reaches the log')
})

t.test('provider ids: host, then path, then a hash; lower-case letters, digits and dashes, at most 40', async (t) => {
  const none = () => false
  t.equal(deriveProviderId('https://mcp.notion.com/mcp', none), 'mcp-notion-com')
  t.equal(deriveProviderId('http://127.0.0.1:5555/mcp', none), '127-0-0-1-5555')
  const taken = new Set(['mcp-notion-com'])
  t.equal(deriveProviderId('https://mcp.notion.com/mcp', (id) => taken.has(id)), 'mcp-notion-com-mcp')
  taken.add('mcp-notion-com-mcp')
  t.match(deriveProviderId('https://mcp.notion.com/mcp', (id) => taken.has(id)), /^mcp-notion-com-[0-9a-f]{8}$/)
  const long = deriveProviderId(`https://${'a'.repeat(60)}.example.com/x`, none)
  t.ok(long.length <= 40 && /^[a-z0-9][a-z0-9-]*$/.test(long), long)
})
