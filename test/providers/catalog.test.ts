// The built-in catalog: for every provider, the authorization URL and both token requests it
// builds, checked against values written out here from shared/reference/providers.md (not
// read back from the catalog). Plus provider lookup errors and the PKCE primitives.
import t from 'tap'
import { parseConfig, providerEnvPrefix } from '../../src/config.js'
import { isAppError } from '../../src/errors.js'
import { startFlow } from '../../src/oauth/flow.js'
import { codeChallengeS256, randomToken, TOKEN_PATTERN } from '../../src/oauth/random.js'
import { buildAuthorizationUrl, buildTokenRequest } from '../../src/oauth/requests.js'
import { BUILT_IN_PROVIDERS } from '../../src/providers/catalog.js'
import { getProvider, requireClient } from '../../src/providers/lookup.js'
import type { Provider } from '../../src/providers/schema.js'
import { testConfig, testDeps } from '../support/deps.js'

interface Expected {
  authorize: string
  token: string
  scope: string
  pkce: boolean
  basic: boolean
  authorizeParams?: Record<string, string>
  tokenParams?: Record<string, string>
  refreshParams?: Record<string, string>
}

const dexcom = (host: string): Expected => ({
  authorize: `https://${host}/v2/oauth2/login`,
  token: `https://${host}/v2/oauth2/token`,
  scope: 'offline_access',
  pkce: false,
  basic: false,
})

const EXPECTED: Record<string, Expected> = {
  dexcom: dexcom('api.dexcom.com'),
  'dexcom-eu': dexcom('api.dexcom.eu'),
  'dexcom-jp': dexcom('api.dexcom.jp'),
  'dexcom-sandbox': dexcom('sandbox-api.dexcom.com'),
  oura: {
    authorize: 'https://cloud.ouraring.com/oauth/authorize',
    token: 'https://api.ouraring.com/oauth/token',
    scope: 'personal daily heartrate workout session spo2',
    pkce: false,
    basic: false,
  },
  fitbit: {
    authorize: 'https://www.fitbit.com/oauth2/authorize',
    token: 'https://api.fitbit.com/oauth2/token',
    scope: 'activity heartrate sleep profile',
    pkce: true,
    basic: true,
  },
  withings: {
    authorize: 'https://account.withings.com/oauth2_user/authorize2',
    token: 'https://wbsapi.withings.net/v2/oauth2',
    scope: 'user.info,user.metrics,user.activity',
    pkce: false,
    basic: false,
    tokenParams: { action: 'requesttoken' },
    refreshParams: { action: 'requesttoken' },
  },
  strava: {
    authorize: 'https://www.strava.com/oauth/authorize',
    token: 'https://www.strava.com/oauth/token',
    scope: 'read,activity:read_all',
    pkce: false,
    basic: false,
    authorizeParams: { approval_prompt: 'auto' },
  },
  whoop: {
    authorize: 'https://api.prod.whoop.com/oauth/oauth2/auth',
    token: 'https://api.prod.whoop.com/oauth/oauth2/token',
    scope: 'offline read:recovery read:cycles read:sleep read:workout read:profile',
    pkce: false,
    basic: false,
    refreshParams: { scope: 'offline' },
  },
  google: {
    authorize: 'https://accounts.google.com/o/oauth2/v2/auth',
    token: 'https://oauth2.googleapis.com/token',
    scope: 'openid email',
    pkce: true,
    basic: false,
    authorizeParams: { access_type: 'offline', prompt: 'consent', include_granted_scopes: 'true' },
  },
  github: {
    authorize: 'https://github.com/login/oauth/authorize',
    token: 'https://github.com/login/oauth/access_token',
    scope: 'read:user',
    pkce: true,
    basic: false,
  },
  spotify: {
    authorize: 'https://accounts.spotify.com/authorize',
    token: 'https://accounts.spotify.com/api/token',
    scope: 'user-read-email user-read-private',
    pkce: true,
    basic: true,
  },
}

// Characters that must be form-encoded before the Basic join (RFC 6749 §2.3.1): a ':' in the id
// would otherwise move the split point, and '+', '/', '%' and spaces would change meaning.
const CLIENT_ID = 'client id:1+é'
const CLIENT_SECRET = 'se/cr%et+ =:x'
const REDIRECT_URI = 'https://box.tail1234.ts.net:8400/oauth/callback'
const STATE = 'Zm9vYmFyLXN0YXRlLTAxMjM0NTY3ODlhYmNkZWYwMTI'
const VERIFIER = 'dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk'

const credentialEnv: Record<string, string> = {}
for (const id of Object.keys(EXPECTED)) {
  credentialEnv[`${providerEnvPrefix(id)}CLIENT_ID`] = CLIENT_ID
  credentialEnv[`${providerEnvPrefix(id)}CLIENT_SECRET`] = CLIENT_SECRET
}
const config = parseConfig({ publicUrl: 'https://box.tail1234.ts.net:8400', tls: 'tailscale-serve' }, credentialEnv)

/** The id and secret a server would recover from a Basic header. */
function decodeBasic(header: string | undefined): [string, string] | undefined {
  const match = /^Basic ([A-Za-z0-9+/=]+)$/.exec(header ?? '')
  if (!match?.[1]) return undefined
  const parts = Buffer.from(match[1], 'base64').toString('utf8').split(':')
  if (parts.length !== 2) return undefined
  const decode = (s: string) => decodeURIComponent(s.replace(/\+/g, ' '))
  return [decode(parts[0] ?? ''), decode(parts[1] ?? '')]
}

t.test('the catalog is exactly the documented set of providers', async (t) => {
  t.same(Object.keys(BUILT_IN_PROVIDERS).sort(), Object.keys(EXPECTED).sort())
  t.equal(config.redirectUri, REDIRECT_URI)
})

for (const [id, want] of Object.entries(EXPECTED)) {
  t.test(`${id}: authorization URL`, async (t) => {
    const provider = requireClient(getProvider(config, id))
    t.equal(provider.usePkce, want.pkce, `usePkce is ${want.pkce}`)
    const url = new URL(
      buildAuthorizationUrl(provider, { state: STATE, redirectUri: REDIRECT_URI, codeVerifier: want.pkce ? VERIFIER : null }),
    )
    t.equal(`${url.origin}${url.pathname}`, want.authorize)
    for (const name of new Set(url.searchParams.keys())) t.equal(url.searchParams.getAll(name).length, 1, `${name} appears once`)
    const params = Object.fromEntries(url.searchParams)
    t.same(params, {
      ...want.authorizeParams,
      response_type: 'code',
      client_id: CLIENT_ID,
      redirect_uri: REDIRECT_URI,
      scope: want.scope,
      state: STATE,
      ...(want.pkce ? { code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM', code_challenge_method: 'S256' } : {}),
    })
    t.notMatch(url.href, VERIFIER, 'the verifier never travels in the authorization URL')
    t.notMatch(url.href, encodeURIComponent(CLIENT_SECRET), 'nor does the client secret')
  })

  t.test(`${id}: token requests`, async (t) => {
    const provider = requireClient(getProvider(config, id))
    const code = buildTokenRequest(provider, {
      grantType: 'authorization_code',
      code: 'the-code',
      redirectUri: REDIRECT_URI,
      codeVerifier: want.pkce ? VERIFIER : null,
    })
    const refresh = buildTokenRequest(provider, { grantType: 'refresh_token', refreshToken: 'the-refresh-token' })
    const clientBody = want.basic ? {} : { client_id: CLIENT_ID, client_secret: CLIENT_SECRET }

    t.equal(code.url, want.token)
    t.same(code.form, {
      ...want.tokenParams,
      grant_type: 'authorization_code',
      code: 'the-code',
      redirect_uri: REDIRECT_URI,
      ...(want.pkce ? { code_verifier: VERIFIER } : {}),
      ...clientBody,
    })
    t.equal(refresh.url, want.token)
    t.same(refresh.form, {
      ...want.refreshParams,
      grant_type: 'refresh_token',
      refresh_token: 'the-refresh-token',
      ...clientBody,
    })

    for (const [grant, request] of [['code', code], ['refresh', refresh]] as const) {
      t.equal(request.headers.accept, 'application/json', `${grant}: asks for JSON`)
      if (want.basic) {
        t.same(decodeBasic(request.headers.authorization), [CLIENT_ID, CLIENT_SECRET], `${grant}: Basic header carries id and secret`)
        t.notOk('client_secret' in request.form, `${grant}: no client_secret in the body`)
      } else {
        t.notOk('authorization' in request.headers, `${grant}: no Basic header`)
      }
      t.notOk(Object.values(request.headers).some((v) => v.includes(CLIENT_SECRET)), `${grant}: secret not in clear in any header`)
    }
  })
}

t.test('a flow uses PKCE exactly when the provider does', async (t) => {
  const deps = testDeps(t, { config: testConfig(t, {}, credentialEnv) })
  for (const [id, want] of Object.entries(EXPECTED)) {
    const flow = startFlow(deps, { provider: id })
    const params = new URL(flow.authorizationUrl).searchParams
    t.equal(params.has('code_challenge'), want.pkce, `${id}: code_challenge ${want.pkce ? 'present' : 'absent'}`)
    if (want.pkce) {
      t.equal(params.get('code_challenge_method'), 'S256', `${id}: S256`)
      t.match(params.get('code_challenge'), /^[A-Za-z0-9_-]{43}$/, `${id}: a SHA-256 challenge`)
    } else {
      t.notOk(params.has('code_challenge_method'), `${id}: no challenge method`)
    }
    t.notOk(params.has('code_verifier'), `${id}: never the verifier`)
    t.equal(params.get('state'), flow.state)
    t.match(flow.state, TOKEN_PATTERN)
  }
})

t.test('a code_verifier is sent only when the flow has one', async (t) => {
  const google = requireClient(getProvider(config, 'google'))
  const without = buildTokenRequest(google, { grantType: 'authorization_code', code: 'c', redirectUri: REDIRECT_URI, codeVerifier: null })
  t.notOk('code_verifier' in without.form)
  const withIt = buildTokenRequest(google, { grantType: 'authorization_code', code: 'c', redirectUri: REDIRECT_URI, codeVerifier: VERIFIER })
  t.equal(withIt.form.code_verifier, VERIFIER)
  const refresh = buildTokenRequest(google, { grantType: 'refresh_token', refreshToken: 'r' })
  t.notOk('code_verifier' in refresh.form, 'never on refresh')
  t.notOk('redirect_uri' in refresh.form, 'no redirect_uri on refresh')
})

t.test('a token URL fixed in the flow row wins over the provider\'s current one', async (t) => {
  const dexcomProvider = requireClient(getProvider(config, 'dexcom'))
  const request = buildTokenRequest(
    dexcomProvider,
    { grantType: 'authorization_code', code: 'c', redirectUri: REDIRECT_URI, codeVerifier: null },
    'https://api.dexcom.com/v3/oauth2/token',
  )
  t.equal(request.url, 'https://api.dexcom.com/v3/oauth2/token')
})

t.test('a basic-auth provider without a secret (public PKCE client) sends client_id in the body', async (t) => {
  const spotify = requireClient(getProvider(parseConfig({}, { LATCHKEY_SPOTIFY_CLIENT_ID: 'public-id' }), 'spotify'))
  const request = buildTokenRequest(spotify, { grantType: 'refresh_token', refreshToken: 'r' })
  t.notOk('authorization' in request.headers)
  t.equal(request.form.client_id, 'public-id')
  t.notOk('client_secret' in request.form)
})

t.test('config params cannot override the protocol parameters', async (t) => {
  const hostile = parseConfig(
    {
      providers: {
        acme: {
          authorizationUrl: 'https://acme.example/authorize',
          tokenUrl: 'https://acme.example/token',
          clientId: 'acme-id',
          clientSecret: 'acme-secret',
          extraParams: { response_type: 'token', redirect_uri: 'https://evil.example/', state: 'fixed' },
          tokenParams: { grant_type: 'password', redirect_uri: 'https://evil.example/', code: 'other' },
          refreshParams: { grant_type: 'client_credentials', refresh_token: 'other' },
        },
      },
    },
    {},
  )
  const acme = requireClient(getProvider(hostile, 'acme'))
  const url = new URL(buildAuthorizationUrl(acme, { state: STATE, redirectUri: REDIRECT_URI, codeVerifier: null }))
  t.equal(url.searchParams.get('response_type'), 'code')
  t.equal(url.searchParams.get('redirect_uri'), REDIRECT_URI)
  t.equal(url.searchParams.get('state'), STATE)
  const code = buildTokenRequest(acme, { grantType: 'authorization_code', code: 'c', redirectUri: REDIRECT_URI, codeVerifier: null })
  t.same([code.form.grant_type, code.form.redirect_uri, code.form.code], ['authorization_code', REDIRECT_URI, 'c'])
  const refresh = buildTokenRequest(acme, { grantType: 'refresh_token', refreshToken: 'r' })
  t.same([refresh.form.grant_type, refresh.form.refresh_token], ['refresh_token', 'r'])
})

t.test('an unknown provider id lists every known id', async (t) => {
  const err = t.throws(() => getProvider(config, 'nope')) as Error
  t.ok(isAppError(err, 'PROVIDER_UNKNOWN'))
  t.match(err.message, '"nope"')
  for (const id of Object.keys(EXPECTED)) t.match(err.message, new RegExp(`(: |, )${id}(,|$)`), `names ${id}`)
  const withCustom = parseConfig({
    providers: { acme: { authorizationUrl: 'https://acme.example/a', tokenUrl: 'https://acme.example/t' } },
  })
  t.match((t.throws(() => getProvider(withCustom, 'x')) as Error).message, /\bacme\b/, 'config-defined providers too')
  const proto = t.throws(() => getProvider(config, '__proto__')) as Error
  t.ok(isAppError(proto, 'PROVIDER_UNKNOWN'), 'inherited keys are not providers')
  const long = t.throws(() => getProvider(config, 'x'.repeat(5000))) as Error
  t.ok(long.message.length < 400, 'a huge id is not echoed whole')
})

t.test('a provider without a client id names the config key and env vars', async (t) => {
  const bare = parseConfig({})
  const err = t.throws(() => requireClient(getProvider(bare, 'dexcom-eu'))) as Error
  t.ok(isAppError(err, 'PROVIDER_NOT_CONFIGURED'))
  t.match(err.message, 'LATCHKEY_DEXCOM_EU_CLIENT_ID')
  t.match(err.message, 'LATCHKEY_DEXCOM_EU_CLIENT_SECRET')
  t.match(err.message, 'providers.dexcom-eu.clientId')
  const ok: Provider = requireClient(getProvider(config, 'dexcom-eu'))
  t.equal(ok.clientId, CLIENT_ID)
})

t.test('PKCE S256: RFC 7636 Appendix B vector', async (t) => {
  t.equal(codeChallengeS256('dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk'), 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM')
})

t.test('randomToken: 10k values, 43 base64url characters each, no duplicates', async (t) => {
  const seen = new Set<string>()
  let bad = 0
  for (let i = 0; i < 10_000; i++) {
    const value = randomToken()
    if (!/^[A-Za-z0-9_-]{43}$/.test(value)) bad++
    seen.add(value)
  }
  t.equal(bad, 0, 'every value matches ^[A-Za-z0-9_-]{43}$')
  t.equal(seen.size, 10_000, 'no duplicates')
  // 32 bytes of entropy: across 10k values every base64url symbol turns up in the first position.
  t.equal(new Set([...seen].map((v) => v[0])).size, 64, 'the whole alphabet is used')
})
