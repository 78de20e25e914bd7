import t from 'tap'
import { canonicalUrl, discover } from '../../src/discovery/discover.js'
import { discoveryFetch, MAX_METADATA_BYTES } from '../../src/discovery/fetch.js'
import { fakeServer, type RecordedRequest } from '../support/deps.js'
import { mcpWorld } from '../support/mcp-world.js'

const fetchFn = discoveryFetch()

t.test('an MCP server: 401 challenge → RFC 9728 → the authorization server, scopes from the challenge', async (t) => {
  const { mcp, as } = await mcpWorld(t)
  const found = await discover(mcp.url, fetchFn)
  t.equal(found.kind, 'mcp')
  t.equal(found.resource, mcp.url)
  t.equal(found.issuer, as.issuer)
  t.equal(found.metadata.token_endpoint, `${as.issuer}/token`)
  t.same(found.scopes, ['mcp:tools', 'offline_access'], 'offline_access added: oidc-provider advertises it')
})

t.test('a challenge without resource_metadata: the path-aware well-known is used', async (t) => {
  const { mcp, as } = await mcpWorld(t, { bareChallenge: true })
  const found = await discover(mcp.url, fetchFn)
  t.equal(found.issuer, as.issuer)
})

t.test('an issuer URL: RFC 8414 / OIDC metadata of the URL itself', async (t) => {
  const { as } = await mcpWorld(t)
  const found = await discover(`${as.issuer}/`, fetchFn)
  t.equal(found.kind, 'issuer')
  t.equal(found.resource, undefined)
  t.equal(found.issuer, as.issuer)
  t.same(found.scopes, ['openid', 'offline_access'])
})

t.test('canonical URLs: lower-case host, no fragment, no slash on a bare origin', async (t) => {
  t.equal(canonicalUrl('HTTPS://MCP.Example.com/'), 'https://mcp.example.com')
  t.equal(canonicalUrl('https://mcp.example.com/mcp#x'), 'https://mcp.example.com/mcp')
  t.throws(() => canonicalUrl('http://mcp.example.com/mcp'), { code: 'DISCOVERY_REFUSED', message: /plain http to mcp\.example\.com/ })
  t.throws(() => canonicalUrl('ftp://x'), { code: 'DISCOVERY_REFUSED' })
  t.throws(() => canonicalUrl('https://u:p@x.example'), { code: 'DISCOVERY_REFUSED' })
})

/** A hostile or broken server: every well-known answered from `docs`, the probe from `probe`. */
async function hostile(t: Parameters<typeof fakeServer>[0], docs: (base: string, req: RecordedRequest) => { status?: number; json?: unknown; body?: string } | undefined) {
  let base = ''
  const server = await fakeServer(t, (req) => docs(base, req) ?? { status: 404, json: { error: 'not_found' } })
  base = server.url
  return server
}

function goodAs(base: string, over: Record<string, unknown> = {}) {
  return {
    issuer: base,
    authorization_endpoint: `${base}/auth`,
    token_endpoint: `${base}/token`,
    registration_endpoint: `${base}/reg`,
    response_types_supported: ['code'],
    code_challenge_methods_supported: ['S256'],
    scopes_supported: ['openid', 'offline_access'],
    ...over,
  }
}

const cases: { name: string; as?: (base: string) => Record<string, unknown>; docs?: (base: string, req: RecordedRequest) => { status?: number; json?: unknown; body?: string } | undefined; message: RegExp }[] = [
  { name: 'issuer mismatch', as: (b) => goodAs(b, { issuer: `${b}/other` }), message: /names the issuer .*not .*refused \(RFC 8414 §3\.3\)/ },
  { name: 'issuer with a trailing slash', as: (b) => goodAs(b, { issuer: `${b}/` }), message: /names the issuer/ },
  { name: 'no S256', as: (b) => goodAs(b, { code_challenge_methods_supported: ['plain'] }), message: /does not offer PKCE with S256/ },
  { name: 'no code_challenge_methods_supported at all', as: (b) => goodAs(b, { code_challenge_methods_supported: undefined }), message: /does not offer PKCE with S256/ },
  { name: 'plain-http authorization endpoint off loopback', as: (b) => goodAs(b, { authorization_endpoint: 'http://auth.example.com/auth' }), message: /authorization_endpoint \(auth\.example\.com\) is not https/ },
  { name: 'plain-http token endpoint off loopback', as: (b) => goodAs(b, { token_endpoint: 'http://10.1.2.3/token' }), message: /token_endpoint \(10\.1\.2\.3\) is not https/ },
  {
    name: 'oversized metadata',
    docs: (b, req) => (req.url.startsWith('/.well-known/oauth-authorization-server') ? { body: JSON.stringify({ ...goodAs(b), pad: 'x'.repeat(MAX_METADATA_BYTES) }) } : undefined),
    message: /sent a document over 64 KiB; refused/,
  },
  {
    name: 'a redirect (loop) instead of metadata',
    docs: (_b, req) => (req.url.startsWith('/.well-known/') ? { status: 302, body: '' } : undefined),
    message: /redirected a discovery request \(HTTP 302\)/,
  },
]

for (const c of cases) {
  t.test(`issuer URL, hostile: ${c.name}`, async (t) => {
    const server = await hostile(t, (base, req) => {
      if (c.docs) return c.docs(base, req)
      if (req.url === '/.well-known/oauth-authorization-server') return { json: c.as?.(base) }
      return undefined
    })
    await t.rejects(discover(server.url, fetchFn), { message: c.message })
  })
}

t.test('a redirect answer sets a Location: it is never followed', async (t) => {
  let hits = 0
  const target = await fakeServer(t, () => {
    hits++
    return { json: {} }
  })
  const server = await fakeServer(t, () => ({ status: 307, body: '' }))
  // fakeServer cannot set headers, so check the fetch itself against a Location-bearing redirect.
  const redirecting = discoveryFetch(async () => new Response(null, { status: 301, headers: { location: `${target.url}/x` } }))
  await t.rejects(redirecting(`${server.url}/.well-known/oauth-authorization-server`), { code: 'DISCOVERY_REFUSED' })
  t.equal(hits, 0)
})

t.test('MCP server, hostile: its resource metadata names another resource', async (t) => {
  const { mcp } = await mcpWorld(t, { resourceOverride: 'https://other.example.com/mcp' })
  await t.rejects(discover(mcp.url, fetchFn), { code: 'DISCOVERY_REFUSED', message: /metadata is for another resource \("https:\/\/other\.example\.com\/mcp"\); refused/ })
})

t.test('MCP server, hostile: a plain-http authorization server at a non-loopback host is never contacted', async (t) => {
  const seen: string[] = []
  const server = await fakeServer(t, (req) => {
    seen.push(req.url)
    if (req.url === '/mcp') return { status: 401, json: {} }
    if (req.url === '/.well-known/oauth-protected-resource/mcp') return { json: { resource: `${server.url}/mcp`, authorization_servers: ['http://auth.example.com'] } }
    return { status: 404, json: {} }
  })
  await t.rejects(discover(`${server.url}/mcp`, fetchFn), { code: 'DISCOVERY_REFUSED', message: /plain-http auth\.example\.com/ })
})

t.test('the three path-insertion forms are tried in order for an issuer with a path', async (t) => {
  const server = await hostile(t, (base, req) => {
    if (req.url === '/tenant1/.well-known/openid-configuration') return { json: { ...goodAs(`${base}/tenant1`), jwks_uri: `${base}/jwks`, subject_types_supported: ['public'], id_token_signing_alg_values_supported: ['RS256'] } }
    return undefined
  })
  const found = await discover(`${server.url}/tenant1`, fetchFn)
  t.equal(found.issuer, `${server.url}/tenant1`)
  const wellKnown = server.requests.filter((r) => r.url.includes('.well-known')).map((r) => r.url)
  t.same(wellKnown, [
    '/.well-known/oauth-authorization-server/tenant1',
    '/.well-known/openid-configuration/tenant1',
    '/tenant1/.well-known/openid-configuration',
  ])
})

t.test('no OAuth at the URL at all: a plain message', async (t) => {
  const server = await hostile(t, () => undefined)
  await t.rejects(discover(server.url, fetchFn), { code: 'DISCOVERY_FAILED', message: /found no OAuth there/ })
})
