// The whole flow against a real authorization server (oidc-provider on loopback) and the real
// daemon: POST /oauth/flows, follow the start link with a cookie jar through the provider's
// auto-approving interaction, land on the callback, the Bree job exchanges the code, auth.json
// holds the tokens and /oauth/pending says connected.
import { readFile } from 'node:fs/promises'
import t from 'tap'
import { CookieBrowser } from '../support/cookie-browser.js'
import { postFlow, startTestDaemon, type TestDaemon } from '../support/daemon.js'
import { freePort, type Teardown } from '../support/deps.js'
import { codeExchanges, startOidcServer, type OidcServer } from '../support/oidc-server.js'

const CANARY_SECRET = 'canary-client-secret-7f3a9c1e5b'

async function setup(t: Teardown, opts: { pkceRequired: boolean }) {
  const port = await freePort()
  const redirect = `http://127.0.0.1:${port}/oauth/callback`
  const as = await startOidcServer({
    pkceRequired: opts.pkceRequired,
    clients: [
      { clientId: 'post-client', clientSecret: CANARY_SECRET, redirectUris: [redirect], authMethod: 'client_secret_post' },
      { clientId: 'basic-client', clientSecret: CANARY_SECRET, redirectUris: [redirect], authMethod: 'client_secret_basic' },
    ],
  })
  t.teardown(() => as.close())
  const base = { authorizationUrl: as.authorizationUrl, tokenUrl: as.tokenUrl, clientSecret: CANARY_SECRET, scopes: ['openid', 'offline_access'] }
  const d = await startTestDaemon(t, {
    listen: { host: '127.0.0.1', port },
    publicUrl: `http://127.0.0.1:${port}`,
    providers: {
      'as-post': { ...base, displayName: 'Test AS', clientId: 'post-client', clientAuth: 'body', usePkce: opts.pkceRequired },
      'as-basic': { ...base, displayName: 'Test AS', clientId: 'basic-client', clientAuth: 'basic', usePkce: opts.pkceRequired },
      'as-iss': { ...base, displayName: 'Test AS', clientId: 'post-client', usePkce: opts.pkceRequired, issuer: as.issuer },
      'as-wrong-iss': { ...base, displayName: 'Test AS', clientId: 'post-client', usePkce: opts.pkceRequired, issuer: `${as.issuer}/` },
    },
  })
  return { as, d }
}

async function connectThrough(d: TestDaemon, provider: string, waitSeconds = 10) {
  const flow = await postFlow(d, provider)
  const browser = new CookieBrowser()
  const page = await browser.get(flow.startUrl)
  const pending = (await (await d.api(`/oauth/pending/${flow.state}?wait=${waitSeconds}`)).json()) as { status: string; error?: string }
  return { flow, page, pending }
}

async function authFile(d: TestDaemon): Promise<Record<string, Record<string, unknown>>> {
  return JSON.parse(await readFile(d.config.authFile, 'utf8'))
}

t.test('PKCE-required server: client_secret_post and client_secret_basic both connect', async (t) => {
  const { as, d } = await setup(t, { pkceRequired: true })
  for (const [provider, basic] of [['as-post', false], ['as-basic', true]] as const) {
    const before = codeExchanges(as).length
    const { flow, page, pending } = await connectThrough(d, provider)
    t.equal(page.status, 200, `${provider}: callback page is 200`)
    t.match(page.body, /<h1>Test AS connected<\/h1><p>Your terminal has the confirmation\. You can close this tab\./, `${provider}: the page says connected`)
    t.same(pending, { status: 'connected', provider, scopes: ['openid', 'offline_access'], expiresAt: flow.expiresAt }, `${provider}: pending says connected`)

    const calls = codeExchanges(as).slice(before)
    t.equal(calls.length, 1, `${provider}: exactly one token request`)
    const call = calls[0] as OidcServer['tokenRequests'][number]
    t.equal(call.grantType, 'authorization_code')
    t.equal(call.status, 200)
    t.equal(call.usedBasicAuth, basic, `${provider}: client auth method`)
    t.equal(call.params.redirect_uri, `${d.config.publicUrl}/oauth/callback`, 'redirect URI identical to the authorize request')
    t.match(call.params.code_verifier, /^[A-Za-z0-9_-]{43}$/, 'PKCE verifier sent')
    t.equal(new URL(flow.authorizationUrl).searchParams.get('code_challenge_method'), 'S256')

    const entry = (await authFile(d))[provider]
    t.ok(entry, `${provider}: auth.json has the entry`)
    t.equal(entry?.type, 'oauth')
    t.equal(entry?.tokenType, 'Bearer')
    t.type(entry?.access, 'string')
    t.type(entry?.refresh, 'string', 'a refresh token was stored')
    t.ok(typeof entry?.expires === 'number' && entry.expires > Date.now(), 'expires is in the future, in epoch ms')
    t.equal(entry?.scope, 'openid offline_access')
  }
  const logs = d.logs.text()
  t.notMatch(logs, CANARY_SECRET, 'the client secret never reaches the log')
  const auth = JSON.stringify(await authFile(d))
  for (const line of d.logs.lines()) for (const v of Object.values(line)) t.notOk(typeof v === 'string' && v.length > 20 && auth.includes(v), 'no token value in the log')
})

t.test('provider without PKCE against a server that does not require it', async (t) => {
  const { as, d } = await setup(t, { pkceRequired: false })
  const { flow, page, pending } = await connectThrough(d, 'as-post')
  t.notOk(new URL(flow.authorizationUrl).searchParams.has('code_challenge'), 'no challenge in the authorization URL')
  t.match(page.body, /connected<\/h1><p>Your terminal has the confirmation/)
  t.equal(pending.status, 'connected')
  t.equal(codeExchanges(as).length, 1)
  t.equal(codeExchanges(as)[0]?.params.code_verifier, undefined, 'no verifier sent')
})

t.test('RFC 9207: a provider that declares its issuer', async (t) => {
  const { as, d } = await setup(t, { pkceRequired: true })
  const ok = await connectThrough(d, 'as-iss')
  t.equal(ok.pending.status, 'connected', 'matching iss connects')
  t.equal(codeExchanges(as).length, 1)

  const bad = await connectThrough(d, 'as-wrong-iss', 0)
  t.equal(bad.page.status, 400, 'issuer with a trailing slash does not match')
  t.match(bad.page.body, /This answer did not come from Test AS.*It came from another server, so nothing was stored/s)
  t.equal(bad.pending.status, 'waiting', 'the flow was not touched')
  t.equal(codeExchanges(as).length, 1, 'no token request for the mismatched issuer')
})

t.test('denied at the provider', async (t) => {
  const { as, d } = await setup(t, { pkceRequired: true })
  as.setDecision('deny')
  const { page, pending } = await connectThrough(d, 'as-post')
  t.equal(page.status, 200)
  t.match(page.body, /You did not approve access at Test AS\./)
  t.same(pending.status, 'denied')
  t.equal(pending.error, 'access_denied')
  t.equal(codeExchanges(as).length, 0, 'nothing was exchanged')
  await t.rejects(readFile(d.config.authFile), 'auth.json was not created')
})
