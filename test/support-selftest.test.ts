// Proves the test peers in test/support/ work: a real OAuth server, a cookie-keeping
// redirect follower and headless chromium.
import { createHash, randomBytes } from 'node:crypto'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { networkInterfaces } from 'node:os'
import t from 'tap'
import { chromiumAvailable, CHROMIUM_PATH, launchChromium } from './support/chromium.js'
import { CookieBrowser } from './support/cookie-browser.js'
import { startOidcServer } from './support/oidc-server.js'
import type { OidcClient, OidcServer } from './support/oidc-server.js'

// Never fetched: CookieBrowser stops at it.
const REDIRECT_URI = 'http://127.0.0.1:1/cb'

const postClient: OidcClient = {
  clientId: 'post-client',
  clientSecret: 'post-secret',
  redirectUris: [REDIRECT_URI],
  authMethod: 'client_secret_post',
}
const basicClient: OidcClient = {
  clientId: 'basic client:1',
  clientSecret: 'basic secret/+',
  redirectUris: [REDIRECT_URI],
  authMethod: 'client_secret_basic',
}

interface TokenResponse {
  status: number
  body: Record<string, unknown>
}

function pkce(): { verifier: string; challenge: string } {
  const verifier = randomBytes(32).toString('base64url')
  return { verifier, challenge: createHash('sha256').update(verifier).digest('base64url') }
}

function authorizationUrl(
  server: OidcServer,
  client: OidcClient,
  opts: { scope: string; state: string; challenge?: string; redirectUri?: string },
): string {
  const url = new URL(server.authorizationUrl)
  url.searchParams.set('response_type', 'code')
  url.searchParams.set('client_id', client.clientId)
  url.searchParams.set('redirect_uri', opts.redirectUri ?? REDIRECT_URI)
  if (opts.scope !== '') url.searchParams.set('scope', opts.scope)
  url.searchParams.set('state', opts.state)
  if (opts.challenge !== undefined) {
    url.searchParams.set('code_challenge', opts.challenge)
    url.searchParams.set('code_challenge_method', 'S256')
  }
  return url.href
}

// Follows the authorization URL until the redirect to REDIRECT_URI and returns that Location.
async function authorize(url: string): Promise<URL> {
  const res = await new CookieBrowser().get(url, { stopAt: (u) => u.startsWith(REDIRECT_URI) })
  const location = res.headers.location
  if (typeof location !== 'string') throw new Error(`no redirect to the client: ${res.status} ${res.body}`)
  return new URL(location)
}

async function tokenRequest(server: OidcServer, client: OidcClient, params: Record<string, string>): Promise<TokenResponse> {
  const body = new URLSearchParams(params)
  const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded' }
  if (client.authMethod === 'client_secret_basic') {
    const user = encodeURIComponent(client.clientId)
    const pass = encodeURIComponent(client.clientSecret)
    headers.authorization = `Basic ${Buffer.from(`${user}:${pass}`).toString('base64')}`
  } else {
    body.set('client_id', client.clientId)
    body.set('client_secret', client.clientSecret)
  }
  const res = await fetch(server.tokenUrl, { method: 'POST', headers, body })
  return { status: res.status, body: (await res.json()) as Record<string, unknown> }
}

function str(value: unknown): string {
  if (typeof value !== 'string') throw new Error(`expected a string, got ${JSON.stringify(value)}`)
  return value
}

// Chromium leg: Playwright's page.route does not see requests that are part of a redirect chain
// (the redirect to the client is a 303 from the provider), so a real listener plays the client.
const callbacks: string[] = []
const callbackServer = createServer((req, res) => {
  if (req.url?.startsWith('/cb')) callbacks.push(req.url)
  res.setHeader('content-type', 'text/html')
  res.end('<p>connected</p>')
})
await new Promise<void>((resolve) => callbackServer.listen(0, '127.0.0.1', resolve))
t.teardown(() => {
  callbackServer.closeAllConnections()
  callbackServer.close()
})
const CHROMIUM_REDIRECT_URI = `http://127.0.0.1:${(callbackServer.address() as AddressInfo).port}/cb`
basicClient.redirectUris.push(CHROMIUM_REDIRECT_URI)

const server = await startOidcServer({ clients: [postClient, basicClient] })
t.teardown(() => server.close())

t.test('server shape', async (t) => {
  t.match(server.issuer, /^http:\/\/127\.0\.0\.1:\d+$/)
  t.equal(server.authorizationUrl, `${server.issuer}/auth`)
  t.equal(server.tokenUrl, `${server.issuer}/token`)
  const discovery = (await (await fetch(`${server.issuer}/.well-known/openid-configuration`)).json()) as Record<string, unknown>
  t.equal(discovery.issuer, server.issuer)
  t.equal(discovery.authorization_endpoint, server.authorizationUrl)
  t.equal(discovery.token_endpoint, server.tokenUrl)
  t.equal(discovery.authorization_response_iss_parameter_supported, true)
})

for (const client of [postClient, basicClient]) {
  t.test(`code flow with PKCE, ${client.authMethod}`, async (t) => {
    const { verifier, challenge } = pkce()
    const location = await authorize(authorizationUrl(server, client, { scope: 'openid offline_access', state: 'st-1', challenge }))
    t.equal(`${location.origin}${location.pathname}`, REDIRECT_URI)
    t.equal(location.searchParams.get('state'), 'st-1')
    t.equal(location.searchParams.get('iss'), server.issuer, 'RFC 9207 iss in the authorization response')
    const code = str(location.searchParams.get('code'))

    const before = server.tokenRequests.length
    const res = await tokenRequest(server, client, {
      grant_type: 'authorization_code',
      code,
      code_verifier: verifier,
      redirect_uri: REDIRECT_URI,
    })
    t.equal(res.status, 200)
    t.equal(res.body.token_type, 'Bearer')
    t.equal(res.body.expires_in, 5)
    t.type(res.body.access_token, 'string')
    t.type(res.body.refresh_token, 'string')
    t.type(res.body.id_token, 'string')
    t.match(res.body.scope, /offline_access/)

    t.equal(server.tokenRequests.length, before + 1)
    const recorded = server.tokenRequests.at(-1)
    t.match(recorded, {
      grantType: 'authorization_code',
      clientId: client.clientId,
      usedBasicAuth: client.authMethod === 'client_secret_basic',
      status: 200,
      params: { code, code_verifier: verifier, redirect_uri: REDIRECT_URI },
    })
    t.equal(recorded?.error, undefined)
    if (client.authMethod === 'client_secret_post') {
      t.equal(recorded?.params.client_id, client.clientId)
      t.equal(recorded?.params.client_secret, client.clientSecret)
    } else {
      t.equal(recorded?.params.client_id, undefined)
    }

    const reused = await tokenRequest(server, client, {
      grant_type: 'authorization_code',
      code,
      code_verifier: verifier,
      redirect_uri: REDIRECT_URI,
    })
    t.equal(reused.status, 400)
    t.equal(reused.body.error, 'invalid_grant', 'a code works once')
  })
}

t.test('refresh rotates; reusing an old refresh token revokes the grant', async (t) => {
  for (const client of [postClient, basicClient]) {
    const { verifier, challenge } = pkce()
    const location = await authorize(authorizationUrl(server, client, { scope: 'openid offline_access', state: 's', challenge }))
    const first = await tokenRequest(server, client, {
      grant_type: 'authorization_code',
      code: str(location.searchParams.get('code')),
      code_verifier: verifier,
      redirect_uri: REDIRECT_URI,
    })
    const rt1 = str(first.body.refresh_token)

    const second = await tokenRequest(server, client, { grant_type: 'refresh_token', refresh_token: rt1 })
    t.equal(second.status, 200, `${client.authMethod}: refresh works`)
    const rt2 = str(second.body.refresh_token)
    t.not(rt2, rt1, 'refresh token rotated')
    t.not(second.body.access_token, first.body.access_token)
    t.match(server.tokenRequests.at(-1), {
      grantType: 'refresh_token',
      clientId: client.clientId,
      status: 200,
      params: { refresh_token: rt1 },
    })

    const replay = await tokenRequest(server, client, { grant_type: 'refresh_token', refresh_token: rt1 })
    t.equal(replay.status, 400)
    t.equal(replay.body.error, 'invalid_grant', 'old refresh token rejected')
    t.match(server.tokenRequests.at(-1), { grantType: 'refresh_token', status: 400, error: 'invalid_grant' })

    const afterRevoke = await tokenRequest(server, client, { grant_type: 'refresh_token', refresh_token: rt2 })
    t.equal(afterRevoke.status, 400)
    t.equal(afterRevoke.body.error, 'invalid_grant', 'the newest refresh token died with the grant')
  }
})

t.test('scope offline_access alone still yields a refresh token', async (t) => {
  const { verifier, challenge } = pkce()
  const location = await authorize(authorizationUrl(server, postClient, { scope: 'offline_access', state: 's', challenge }))
  const res = await tokenRequest(server, postClient, {
    grant_type: 'authorization_code',
    code: str(location.searchParams.get('code')),
    code_verifier: verifier,
    redirect_uri: REDIRECT_URI,
  })
  t.equal(res.status, 200)
  t.type(res.body.refresh_token, 'string')
  t.equal(res.body.id_token, undefined, 'no id_token without openid')
  const refreshed = await tokenRequest(server, postClient, { grant_type: 'refresh_token', refresh_token: str(res.body.refresh_token) })
  t.equal(refreshed.status, 200)
  t.type(refreshed.body.refresh_token, 'string')
})

t.test('a request with no scope at all is denied', async (t) => {
  const { challenge } = pkce()
  const location = await authorize(authorizationUrl(server, postClient, { scope: '', state: 'ns', challenge }))
  t.equal(location.searchParams.get('error'), 'access_denied')
  t.equal(location.searchParams.get('code'), null)
})

t.test('PKCE is required by default', async (t) => {
  const location = await authorize(authorizationUrl(server, postClient, { scope: 'openid offline_access', state: 'np' }))
  t.equal(location.searchParams.get('error'), 'invalid_request')
  t.equal(location.searchParams.get('state'), 'np')
  t.equal(location.searchParams.get('code'), null)
})

t.test('wrong code_verifier is rejected', async (t) => {
  const { challenge } = pkce()
  const location = await authorize(authorizationUrl(server, basicClient, { scope: 'openid', state: 'v', challenge }))
  const res = await tokenRequest(server, basicClient, {
    grant_type: 'authorization_code',
    code: str(location.searchParams.get('code')),
    code_verifier: pkce().verifier,
    redirect_uri: REDIRECT_URI,
  })
  t.equal(res.status, 400)
  t.equal(res.body.error, 'invalid_grant')
  t.match(server.tokenRequests.at(-1), { status: 400, error: 'invalid_grant', usedBasicAuth: true, clientId: basicClient.clientId })
})

t.test('client authentication failures are recorded', async (t) => {
  for (const client of [postClient, basicClient]) {
    const res = await tokenRequest(server, { ...client, clientSecret: 'wrong' }, { grant_type: 'refresh_token', refresh_token: 'x' })
    t.equal(res.status, 401)
    t.equal(res.body.error, 'invalid_client')
    t.match(server.tokenRequests.at(-1), {
      grantType: 'refresh_token',
      clientId: client.clientId,
      usedBasicAuth: client.authMethod === 'client_secret_basic',
      status: 401,
      error: 'invalid_client',
      params: { refresh_token: 'x' },
    })
  }
})

t.test('options: pkceRequired false, accessTokenTtlSeconds', async (t) => {
  const relaxed = await startOidcServer({ clients: [postClient], pkceRequired: false, accessTokenTtlSeconds: 60 })
  t.teardown(() => relaxed.close())
  t.not(relaxed.issuer, server.issuer)
  const location = await authorize(authorizationUrl(relaxed, postClient, { scope: 'openid offline_access', state: 'r' }))
  const res = await tokenRequest(relaxed, postClient, {
    grant_type: 'authorization_code',
    code: str(location.searchParams.get('code')),
    redirect_uri: REDIRECT_URI,
  })
  t.equal(res.status, 200)
  t.equal(res.body.expires_in, 60)
  t.equal(relaxed.tokenRequests.length, 1)
  t.equal(relaxed.tokenRequests[0]?.params.code_verifier, undefined)
})

t.test('deny decision', async (t) => {
  server.setDecision('deny')
  t.teardown(() => server.setDecision('approve'))
  const { challenge } = pkce()
  const location = await authorize(authorizationUrl(server, postClient, { scope: 'openid offline_access', state: 'd-1', challenge }))
  t.equal(`${location.origin}${location.pathname}`, REDIRECT_URI)
  t.equal(location.searchParams.get('error'), 'access_denied')
  t.equal(location.searchParams.get('error_description'), 'The user denied the request')
  t.equal(location.searchParams.get('state'), 'd-1')
  t.equal(location.searchParams.get('iss'), server.issuer, 'iss on error responses too')
  t.equal(location.searchParams.get('code'), null)
})

t.test('CookieBrowser cookie jar', async (t) => {
  let hits = 0
  const cookieServer = createServer((req, res) => {
    hits++
    const url = req.url ?? '/'
    if (url === '/set') {
      res.setHeader('set-cookie', [
        'a=1; Path=/',
        'b=2; Path=/sub',
        's=3; Path=/; Secure; HttpOnly',
        'gone=x; Path=/',
        'later=y; Path=/; Max-Age=3600',
        'old=z; Path=/; Expires=Wed, 21 Oct 2015 07:28:00 GMT',
      ])
      res.statusCode = 302
      res.setHeader('location', '/clear')
      res.end()
    } else if (url === '/clear') {
      res.setHeader('set-cookie', ['gone=; Path=/; Max-Age=0', 'later=; Path=/; Expires=Thu, 01 Jan 1970 00:00:00 GMT'])
      res.statusCode = 303
      res.setHeader('location', '/sub/echo')
      res.end()
    } else if (url === '/loop') {
      res.statusCode = 302
      res.setHeader('location', '/loop')
      res.end()
    } else {
      res.setHeader('content-type', 'text/plain')
      res.end(req.headers.cookie ?? '')
    }
  })
  await new Promise<void>((resolve) => cookieServer.listen(0, '0.0.0.0', resolve))
  t.teardown(() => {
    cookieServer.closeAllConnections()
    cookieServer.close()
  })
  const { port } = cookieServer.address() as AddressInfo
  const base = `http://127.0.0.1:${port}`

  const browser = new CookieBrowser()
  const res = await browser.get(`${base}/set`)
  t.equal(res.url, `${base}/sub/echo`)
  t.equal(res.status, 200)
  t.equal(res.body, 'b=2; a=1; s=3', 'longest path first; deleted and expired cookies gone; Secure sent to 127.0.0.1')
  t.equal(browser.cookiesFor(`${base}/`), 'a=1; s=3')
  t.equal(browser.cookiesFor(`${base}/subway`), 'a=1; s=3', 'path /sub does not match /subway')
  t.equal(browser.cookiesFor(`http://localhost:${port}/`), '', 'jar is per host')

  const stopped = await browser.get(`${base}/set`, { stopAt: (u) => u.endsWith('/clear') })
  t.equal(stopped.status, 302)
  t.equal(stopped.headers.location, '/clear')
  t.same(stopped.headers['set-cookie']?.length, 6)

  await t.rejects(browser.get(`${base}/loop`, { maxHops: 3 }), /more than 3 redirects/)
  const before = hits
  await t.rejects(browser.get(`${base}/loop`, { maxHops: 0 }))
  t.equal(hits, before + 1, 'maxHops 0 makes exactly one request')

  // A non-loopback address of this machine is not a secure context: Secure cookies are neither
  // set from it nor sent to it.
  const lan = Object.values(networkInterfaces())
    .flat()
    .find((i) => i !== undefined && i.family === 'IPv4' && !i.internal)
  if (lan === undefined) {
    t.comment('no non-loopback IPv4 address; skipping the insecure-origin check')
    return
  }
  const insecure = `http://${lan.address}:${port}`
  const plain = new CookieBrowser()
  const echoed = await plain.get(`${insecure}/set`)
  t.equal(echoed.body, 'b=2; a=1', 'Secure cookie not stored from an insecure origin')
  t.equal(plain.cookiesFor(`https://${lan.address}:${port}/`), 'a=1')
})

const chromiumSkip = chromiumAvailable() ? false : `${CHROMIUM_PATH} is missing (apt-get install -y chromium)`
t.test('chromium follows the flow', { skip: chromiumSkip }, async (t) => {
  const browser = await launchChromium()
  t.teardown(() => browser.close())
  const page = await browser.newPage()
  const { verifier, challenge } = pkce()
  const url = authorizationUrl(server, basicClient, {
    scope: 'openid offline_access',
    state: 'chr',
    challenge,
    redirectUri: CHROMIUM_REDIRECT_URI,
  })
  const [request] = await Promise.all([
    page.waitForRequest((r) => r.url().startsWith(CHROMIUM_REDIRECT_URI)),
    page.goto(url),
  ])
  t.equal(await page.textContent('p'), 'connected')
  t.equal(page.url(), request.url())
  const location = new URL(request.url())
  t.same(callbacks, [`${location.pathname}${location.search}`], 'the callback listener got exactly one request')
  t.equal(location.searchParams.get('state'), 'chr')
  t.equal(location.searchParams.get('iss'), server.issuer)
  const res = await tokenRequest(server, basicClient, {
    grant_type: 'authorization_code',
    code: str(location.searchParams.get('code')),
    code_verifier: verifier,
    redirect_uri: CHROMIUM_REDIRECT_URI,
  })
  t.equal(res.status, 200)
  t.type(res.body.refresh_token, 'string')
})
