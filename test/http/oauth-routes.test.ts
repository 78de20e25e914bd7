// POST /oauth/flows, GET /oauth/start/:flowId, the network guard and the canary sweep, all
// through the real Fastify app (inject) on a real SQLite file.
import { readFileSync } from 'node:fs'
import t from 'tap'
import { getFlowByState } from '../../src/db/oauth-flows.js'
import { codeChallengeS256 } from '../../src/oauth/random.js'
import { resolvePending } from '../../src/oauth/pending.js'
import { API_TOKEN, CLIENT_SECRET, STATE_RE, harness, headerList, q } from './harness.js'

const TEN_MINUTES = 10 * 60 * 1000

t.test('POST /oauth/flows', async (t) => {
  t.test('201 with state, startUrl, authorizationUrl and expiresAt', async (t) => {
    const h = await harness(t)
    const now = h.deps.clock.now()
    const res = await h.inject({ method: 'POST', url: '/oauth/flows', headers: { authorization: `Bearer ${API_TOKEN}` }, payload: { provider: 'acme' } })
    t.equal(res.statusCode, 201)
    t.equal(res.headers['cache-control'], 'no-store')
    const body = res.json() as Record<string, string | number>
    t.match(body.state, STATE_RE, 'state is 43 base64url characters')
    t.match(body.flowId, STATE_RE)
    t.not(body.flowId, body.state, 'the chat link does not carry the state')
    t.equal(body.startUrl, `${h.deps.config.publicUrl}/oauth/start/${body.flowId}`)
    t.equal(body.expiresAt, now + TEN_MINUTES)

    const url = new URL(String(body.authorizationUrl))
    t.equal(`${url.origin}${url.pathname}`, `${h.as.url}/authorize`)
    const p = url.searchParams
    t.equal(p.get('response_type'), 'code')
    t.equal(p.get('client_id'), 'acme-client-id')
    t.equal(p.get('redirect_uri'), `${h.deps.config.publicUrl}/oauth/callback`)
    t.equal(p.get('redirect_uri'), 'http://127.0.0.1:8400/oauth/callback', 'exact, byte for byte')
    t.equal(p.get('state'), body.state)
    t.equal(p.get('scope'), 'read offline_access')
    t.equal(p.get('code_challenge_method'), 'S256')
    t.equal(p.get('code_verifier'), null, 'the verifier never goes in the URL')
    t.notOk(String(body.authorizationUrl).includes(CLIENT_SECRET), 'no client secret in the URL')

    const flow = getFlowByState(h.deps.db, String(body.state))
    t.ok(flow, 'the flow is stored')
    t.match(flow?.codeVerifier, /^[A-Za-z0-9_-]{43}$/)
    t.equal(p.get('code_challenge'), codeChallengeS256(flow?.codeVerifier ?? ''), 'challenge is S256 of the stored verifier')
    t.equal(flow?.redirectUri, p.get('redirect_uri'))
    t.equal(flow?.tokenUrl, `${h.as.url}/token`)
    t.equal(flow?.status, 'waiting')
    t.equal(flow?.exchange, 'daemon')
    t.equal(h.as.requests.length, 0, 'starting a flow calls nobody')
  })

  t.test('usePkce false: no challenge, no verifier', async (t) => {
    const h = await harness(t)
    const flow = await h.createFlow({ provider: 'plain' })
    const p = new URL(flow.authorizationUrl).searchParams
    t.equal(p.get('code_challenge'), null)
    t.equal(p.get('code_challenge_method'), null)
    t.equal(p.get('response_type'), 'code')
    t.equal(p.get('client_id'), 'plain-client-id')
    t.equal(getFlowByState(h.deps.db, flow.state)?.codeVerifier, null)
  })

  t.test('two flows get their own state, verifier and flow id', async (t) => {
    const h = await harness(t)
    const a = await h.createFlow()
    const b = await h.createFlow()
    t.not(a.state, b.state)
    t.not(a.flowId, b.flowId)
    const va = getFlowByState(h.deps.db, a.state)?.codeVerifier
    const vb = getFlowByState(h.deps.db, b.state)?.codeVerifier
    t.ok(va && vb)
    t.not(va, vb)
    t.not(new URL(a.authorizationUrl).searchParams.get('code_challenge'), new URL(b.authorizationUrl).searchParams.get('code_challenge'))
    t.equal(h.count('oauth_flows'), 2)
  })

  t.test('missing or wrong bearer: 401, nothing stored', async (t) => {
    const h = await harness(t)
    const cases: Record<string, Record<string, string>> = {
      missing: {},
      wrong: { authorization: `Bearer ${API_TOKEN}x` },
      prefix: { authorization: `Bearer ${API_TOKEN.slice(0, -1)}` },
      'no scheme': { authorization: API_TOKEN },
      basic: { authorization: `Basic ${Buffer.from(`x:${API_TOKEN}`).toString('base64')}` },
    }
    for (const [name, headers] of Object.entries(cases)) {
      const res = await h.inject({ method: 'POST', url: '/oauth/flows', headers, payload: { provider: 'acme' } })
      t.equal(res.statusCode, 401, name)
      t.equal(res.headers['www-authenticate'], 'Bearer', name)
      t.equal(res.json().error, 'unauthorized', name)
    }
    t.equal(h.count('oauth_flows'), 0)
  })

  t.test('unknown provider: 404 listing the known ones', async (t) => {
    const h = await harness(t)
    const res = await h.inject({ method: 'POST', url: '/oauth/flows', headers: { authorization: `Bearer ${API_TOKEN}` }, payload: { provider: 'nope' } })
    t.equal(res.statusCode, 404)
    const body = res.json() as { error: string; message: string }
    t.equal(body.error, 'provider_unknown')
    t.match(body.message, /unknown provider "nope"/)
    for (const id of ['acme', 'dexcom', 'oura', 'plain', 'spotify']) t.match(body.message, new RegExp(`\\b${id}\\b`), `lists ${id}`)
    t.equal(h.count('oauth_flows'), 0)
  })

  t.test('prototype keys are not providers', async (t) => {
    const h = await harness(t)
    for (const provider of ['__proto__', 'constructor', 'toString']) {
      const res = await h.inject({ method: 'POST', url: '/oauth/flows', headers: { authorization: `Bearer ${API_TOKEN}` }, payload: { provider } })
      t.equal(res.statusCode, 404, provider)
    }
    t.equal(h.count('oauth_flows'), 0)
  })

  t.test('provider without a client id: 409 saying how to fix it', async (t) => {
    const h = await harness(t)
    const res = await h.inject({ method: 'POST', url: '/oauth/flows', headers: { authorization: `Bearer ${API_TOKEN}` }, payload: { provider: 'dexcom' } })
    t.equal(res.statusCode, 409)
    const body = res.json() as { error: string; message: string }
    t.equal(body.error, 'provider_not_configured')
    t.match(body.message, /providers\.dexcom\.clientId/)
    t.match(body.message, /LATCHKEY_DEXCOM_CLIENT_ID/)
    t.equal(h.count('oauth_flows'), 0)
  })

  t.test('bad bodies: 400, nothing stored', async (t) => {
    const h = await harness(t)
    const auth = { authorization: `Bearer ${API_TOKEN}` }
    const json = { ...auth, 'content-type': 'application/json' }
    const cases: [string, Record<string, string>, string, RegExp][] = [
      ['not JSON', json, '{"provider": "acme"', /JSON/i],
      ['extra key', json, JSON.stringify({ provider: 'acme', redirectUri: 'https://evil.example/cb' }), /redirectUri/],
      ['exchange x', json, JSON.stringify({ provider: 'acme', exchange: 'x' }), /exchange/],
      ['no provider', json, JSON.stringify({ exchange: 'daemon' }), /provider/],
      ['array', json, JSON.stringify(['acme']), /./],
      ['empty provider', json, JSON.stringify({ provider: '' }), /provider/],
    ]
    for (const [name, headers, payload, message] of cases) {
      const res = await h.inject({ method: 'POST', url: '/oauth/flows', headers, payload })
      t.equal(res.statusCode, 400, name)
      t.match(res.json().message, message, name)
    }
    t.equal(h.count('oauth_flows'), 0)
  })

  t.test('exchange client is stored as such', async (t) => {
    const h = await harness(t)
    const flow = await h.createFlow({ provider: 'acme', exchange: 'client' })
    t.equal(getFlowByState(h.deps.db, flow.state)?.exchange, 'client')
  })
})

t.test('GET /oauth/start/:flowId', async (t) => {
  t.test('302 to the stored authorization URL with a binding cookie', async (t) => {
    const h = await harness(t)
    const flow = await h.createFlow()
    const res = await h.inject({ method: 'GET', url: `/oauth/start/${flow.flowId}` })
    t.equal(res.statusCode, 302)
    t.equal(res.headers.location, flow.authorizationUrl)
    t.equal(res.headers['cache-control'], 'no-store')
    t.equal(res.headers['referrer-policy'], 'no-referrer')
    const cookies = headerList(res, 'set-cookie')
    t.equal(cookies.length, 1)
    const parts = (cookies[0] ?? '').split(';').map((s) => s.trim())
    const [nameValue, ...attrs] = parts
    const [name, value] = (nameValue ?? '').split('=')
    t.match(name, /^latchkey-[0-9a-f]{12}$/, 'plain http: no __Host- prefix')
    t.equal(value, flow.state, 'the cookie is bound to the state')
    t.ok(attrs.includes('HttpOnly'), 'HttpOnly')
    t.ok(attrs.includes('SameSite=Lax'), 'SameSite=Lax, not Strict')
    t.ok(attrs.includes('Path=/'), 'Path=/')
    t.notOk(attrs.some((a) => /^domain=/i.test(a)), 'no Domain')
    t.notOk(attrs.includes('Secure'), 'no Secure on plain http (browsers would drop it)')
    const maxAge = Number(attrs.find((a) => a.startsWith('Max-Age='))?.slice(8))
    // The flow's 10 minutes plus 30 in which a late return is told "expired" (B1 holds for anyone without it).
    t.ok(maxAge > 1800 && maxAge <= 2400, `Max-Age ${maxAge} within (1800, 2400]`)
    t.equal(h.status(flow.state), 'waiting', 'opening the link consumes nothing')
  })

  t.test('Max-Age shrinks with the flow\'s remaining life', async (t) => {
    const h = await harness(t)
    const flow = await h.createFlow()
    h.deps.clock.advance(9 * 60 * 1000)
    const { res } = await h.open(flow.flowId)
    t.match(headerList(res, 'set-cookie')[0], /Max-Age=1860;/, '60 s left, plus the 30 min notice')
  })

  t.test('https publicUrl: Secure and a __Host- name', async (t) => {
    const h = await harness(t, { publicUrl: 'https://box.tailnet.ts.net:8400' })
    const flow = await h.createFlow()
    t.equal(flow.startUrl, `https://box.tailnet.ts.net:8400/oauth/start/${flow.flowId}`)
    t.equal(new URL(flow.authorizationUrl).searchParams.get('redirect_uri'), 'https://box.tailnet.ts.net:8400/oauth/callback')
    const res = await h.inject({ method: 'GET', url: `/oauth/start/${flow.flowId}` })
    t.equal(res.statusCode, 302)
    const cookie = headerList(res, 'set-cookie')[0] ?? ''
    const attrs = cookie.split(';').map((s) => s.trim())
    t.match(attrs[0], /^__Host-latchkey-[0-9a-f]{12}=/)
    t.ok(attrs.includes('Secure'))
    t.ok(attrs.includes('HttpOnly'))
    t.ok(attrs.includes('SameSite=Lax'))
    t.ok(attrs.includes('Path=/'), '__Host- requires Path=/')
    t.notOk(attrs.some((a) => /^domain=/i.test(a)), '__Host- forbids Domain')

    // The cookie from the start link is the one the callback accepts.
    const good = await h.callback(q({ code: 'c-https', state: flow.state }), attrs[0])
    t.equal(good.statusCode, 200)
    t.equal(h.status(flow.state), 'exchanging')
  })

  t.test('unknown, expired, used or malformed ids: 400 page, no cookie', async (t) => {
    const h = await harness(t)
    const used = await h.ready()
    const ok = await h.callback(q({ code: 'c1', state: used.state }), used.cookie)
    t.equal(ok.statusCode, 200)
    const expired = await h.createFlow()
    const fresh = await h.createFlow()
    h.deps.clock.advance(TEN_MINUTES)
    const ids: Record<string, string> = {
      unknown: 'A'.repeat(43),
      expired: expired.flowId,
      used: used.flowId,
      state_not_id: fresh.state,
      short: 'abc',
      long: `${fresh.flowId}A`,
      traversal: '..%2f..%2fauth.json',
      quote: "'%20OR%201=1--",
    }
    for (const [name, id] of Object.entries(ids)) {
      const res = await h.inject({ method: 'GET', url: `/oauth/start/${id}` })
      t.equal(res.statusCode, 400, name)
      t.equal(res.headers.location, undefined, `${name}: no redirect`)
      t.same(headerList(res, 'set-cookie'), [], `${name}: no cookie`)
      t.match(res.headers['content-type'], /^text\/html/)
      const says = name === 'expired' ? /This link has expired/ : name === 'used' ? /This link was already used/ : /This link is not valid/
      t.match(res.body, says, name)
      t.match(res.headers['content-security-policy'], /^default-src 'none'; style-src 'sha256-/)
    }
    t.equal(h.status(expired.state), 'waiting', 'nothing changed')
  })

  t.test('?next=https://evil is ignored', async (t) => {
    const h = await harness(t)
    const flow = await h.createFlow()
    for (const query of ['next=https://evil.example/', 'redirect_uri=https://evil.example/', 'location=https://evil.example/']) {
      const res = await h.inject({ method: 'GET', url: `/oauth/start/${flow.flowId}?${query}` })
      t.equal(res.statusCode, 302, query)
      t.equal(res.headers.location, flow.authorizationUrl, query)
      t.notOk(String(res.headers.location).includes('evil'), query)
    }
  })

  t.test('POST on the start route is not a route', async (t) => {
    const h = await harness(t)
    const flow = await h.createFlow()
    const res = await h.inject({ method: 'POST', url: `/oauth/start/${flow.flowId}` })
    t.equal(res.statusCode, 404)
    t.equal(res.headers.location, undefined)
  })
})

t.test('network guard', async (t) => {
  t.test('outside the allowed networks: 403 on every route, nothing changes', async (t) => {
    const h = await harness(t)
    const flow = await h.ready()
    const auth = { authorization: `Bearer ${API_TOKEN}` }
    const requests: [string, Parameters<typeof h.inject>[0]][] = [
      ['healthz', { method: 'GET', url: '/healthz' }],
      ['flows', { method: 'POST', url: '/oauth/flows', headers: auth, payload: { provider: 'acme' } }],
      ['start', { method: 'GET', url: `/oauth/start/${flow.flowId}` }],
      ['callback', { method: 'GET', url: `/oauth/callback?${q({ code: 'blocked', state: flow.state })}`, headers: { cookie: flow.cookie } }],
      ['pending', { method: 'GET', url: `/oauth/pending/${flow.state}`, headers: auth }],
      ['unknown route', { method: 'GET', url: '/nope' }],
    ]
    for (const address of ['10.9.9.9', '::ffff:10.9.9.9', '192.168.1.5', '8.8.8.8', '100.128.0.1', '100.63.255.255', 'fd7a:115c:a1e1::1', '::2']) {
      for (const [name, req] of requests) {
        const res = await h.inject({ ...req, remoteAddress: address })
        t.equal(res.statusCode, 403, `${address} ${name}`)
        t.equal(res.json().error, 'forbidden', `${address} ${name}`)
        t.equal(res.headers.location, undefined)
        t.same(headerList(res, 'set-cookie'), [])
      }
    }
    t.equal(h.count('oauth_flows'), 1, 'no flow created')
    t.equal(h.status(flow.state), 'waiting', 'callback did not consume the state')
    t.equal(h.count('oauth_pending'), 0)
    t.equal(h.count('outbox'), 0)
    t.match(h.deps.logs.text(), /request from outside the allowed networks/)
  })

  t.test('tailnet and loopback peers pass', async (t) => {
    const h = await harness(t)
    const flow = await h.createFlow()
    for (const address of ['100.64.1.2', '100.127.255.254', '127.0.0.1', '::ffff:127.0.0.1', '::1', 'fd7a:115c:a1e0::1']) {
      const health = await h.inject({ method: 'GET', url: '/healthz', remoteAddress: address })
      t.equal(health.statusCode, 200, `${address} healthz`)
      t.same(health.json(), { ok: true })
      const pending = await h.inject({ method: 'GET', url: `/oauth/pending/${flow.state}`, headers: { authorization: `Bearer ${API_TOKEN}` }, remoteAddress: address })
      t.equal(pending.statusCode, 200, `${address} pending`)
      const start = await h.inject({ method: 'GET', url: `/oauth/start/${flow.flowId}`, remoteAddress: address })
      t.equal(start.statusCode, 302, `${address} start`)
    }
    const created = await h.inject({ method: 'POST', url: '/oauth/flows', headers: { authorization: `Bearer ${API_TOKEN}` }, payload: { provider: 'acme' }, remoteAddress: 'fd7a:115c:a1e0::1' })
    t.equal(created.statusCode, 201)
  })
})

t.test('canaries never reach the logs or the database', async (t) => {
  const CODE = 'authcode-CANARY-3e8c1f6a9b2d'
  const ACCESS = 'accesstoken-CANARY-a4b9e2'
  const REFRESH = 'refreshtoken-CANARY-f7c3d1'
  const h = await harness(t, {
    token: () => ({ json: { access_token: ACCESS, refresh_token: REFRESH, token_type: 'Bearer', expires_in: 3600, scope: 'read offline_access' } }),
  })
  const flow = await h.ready()
  const cb = await h.callback(q({ code: CODE, state: flow.state }), flow.cookie)
  t.equal(cb.statusCode, 200)
  t.notOk(cb.body.includes(CODE), 'the page does not echo the code')
  const summary = await resolvePending(h.deps)
  t.equal(summary.connected, 1)

  // The canaries really were used, so their absence below means something.
  t.equal(h.tokenRequests().length, 1)
  t.equal(h.tokenRequests()[0]?.form.code, CODE)
  t.equal(h.tokenRequests()[0]?.form.client_secret, CLIENT_SECRET)
  const pending = await h.pending(flow.state)
  t.equal(pending.statusCode, 200)
  t.match(pending.json(), { status: 'connected', provider: 'acme', scopes: ['read', 'offline_access'] })

  const auth = JSON.parse(readFileSync(h.deps.config.authFile, 'utf8')) as Record<string, { access?: string; refresh?: string }>
  t.equal(auth.acme?.access, ACCESS, 'auth.json holds the access token')
  t.equal(auth.acme?.refresh, REFRESH)

  const logs = h.deps.logs.text()
  t.match(logs, /callback received/, 'the logs are captured')
  t.match(logs, /connected/)
  const canaries = { CODE, ACCESS, REFRESH, CLIENT_SECRET, API_TOKEN, verifier: h.tokenRequests()[0]?.form.code_verifier ?? 'missing' }
  t.not(canaries.verifier, 'missing', 'the PKCE verifier was sent, so it can be looked for')

  const tables = (h.deps.db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all() as { name: string }[]).map((r) => r.name)
  t.ok(tables.includes('oauth_flows') && tables.includes('oauth_pending') && tables.includes('outbox'))
  const dump = tables.map((name) => JSON.stringify(h.deps.db.prepare(`SELECT * FROM "${name}"`).all())).join('\n')
  t.match(dump, flow.state, 'the dump has the flow row')
  for (const [name, value] of Object.entries(canaries)) {
    t.notOk(logs.includes(value), `${name} is not in the logs`)
    t.notOk(dump.includes(value), `${name} is not in any database row`)
  }
})
