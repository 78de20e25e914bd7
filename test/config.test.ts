// Config: defaults with no file, every problem reported at once with its key path, secrets from
// the environment, and config entries that override single fields of a built-in provider.
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { loadConfig, parseConfig } from '../src/config.js'
import { isAppError } from '../src/errors.js'
import { tempDir, type Teardown } from './support/deps.js'

/** Runs `fn` and returns the CONFIG_INVALID message it throws; anything else fails the test. */
function configError(fn: () => unknown): string {
  try {
    fn()
  } catch (err) {
    if (isAppError(err, 'CONFIG_INVALID')) return err.message
    throw err
  }
  throw new Error('expected CONFIG_INVALID, nothing was thrown')
}

/** A HOME and a config path inside a fresh temp dir; writes `content` when given. */
function setup(t: Teardown, content?: string): { home: string; configPath: string; env: Record<string, string> } {
  const home = tempDir(t)
  const configPath = join(home, 'config.json')
  if (content !== undefined) writeFileSync(configPath, content)
  return { home, configPath, env: { HOME: home, LATCHKEY_CONFIG: configPath } }
}

t.test('no config file: every default applies', async (t) => {
  const home = tempDir(t)
  const config = loadConfig({ HOME: home })
  t.equal(config.fromFile, false)
  t.equal(config.configPath, join(home, '.config', 'latchkey', 'config.json'))
  t.same(config.listen, { host: '127.0.0.1', port: 8400 })
  t.equal(config.publicUrl, 'http://127.0.0.1:8400')
  t.equal(config.redirectUri, 'http://127.0.0.1:8400/oauth/callback')
  t.equal(config.authFile, join(home, '.local', 'share', 'agent', 'auth.json'))
  t.equal(config.dataDir, join(home, '.local', 'share', 'latchkey'))
  t.equal(config.dbFile, join(home, '.local', 'share', 'latchkey', 'latchkey.db'))
  t.equal(config.apiToken, undefined)
  t.ok(config.providers.dexcom, 'the built-in catalog is present')
  t.equal(config.providers.dexcom?.clientId, undefined, 'no credentials without config or env')
})

t.test('a config file is read and marked fromFile', async (t) => {
  const { env, home } = setup(t, JSON.stringify({ listen: { port: 9400 }, authFile: '~/tokens/auth.json' }))
  const config = loadConfig(env)
  t.equal(config.fromFile, true)
  t.equal(config.publicUrl, 'http://127.0.0.1:9400')
  t.equal(config.redirectUri, 'http://127.0.0.1:9400/oauth/callback')
  t.equal(config.authFile, join(home, 'tokens', 'auth.json'))
})

t.test('LATCHKEY_CONFIG set but the file is missing: CONFIG_INVALID naming the path', async (t) => {
  const { env, configPath } = setup(t)
  const message = configError(() => loadConfig(env))
  t.match(message, configPath)
  t.match(message, /not found/)
})

t.test('invalid JSON: the message names the path', async (t) => {
  const { env, configPath } = setup(t, '{"listen": {"port": 8400,}')
  const message = configError(() => loadConfig(env))
  t.match(message, configPath)
  t.match(message, /not valid JSON/)
  t.match(message, /at line 1, column 26\)$/, 'says where')
})

t.test('invalid JSON never quotes the file: a secret in it stays out of the error', async (t) => {
  const canary = 'CANARYsecretValue0123456789'
  const cases = {
    [`{"telegram": {"token": ${canary}}}`]: 'Unexpected character at line 1, column 24',
    [`{"a": 1,\n "telegram": {"token": ${canary}}}`]: 'Unexpected character at line 2, column 24',
    [`{"providers": {"x": {"clientSecret": "${canary}",}}}`]: 'Expected double-quoted property name at line 1, column 68',
    [`{\n  "apiToken": "${canary}`]: 'Unterminated string',
  }
  for (const [text, where] of Object.entries(cases)) {
    const { env, configPath } = setup(t, text)
    const message = configError(() => loadConfig(env))
    t.match(message, `${configPath}: not valid JSON (${where}`)
    t.notMatch(message, /CANARY|secretValue|0123456789/, `no part of the secret in: ${message}`)
  }
})

t.test('several problems at once are all listed with their key paths', async (t) => {
  const { env, configPath } = setup(
    t,
    JSON.stringify({
      listen: { port: 70000 },
      allowedNetworks: ['100.64.0.0/10', '300.1.2.3/8'],
      colour: 'blue',
      providers: { acme: { tokenUrl: 'ftp://x' } },
    }),
  )
  const message = configError(() => loadConfig(env))
  t.match(message, configPath)
  t.match(message, 'providers.acme.tokenUrl: expected an https URL, got "ftp://x"')
  t.match(message, /^ {2}listen\.port: .+$/m)
  t.match(message, /^ {2}allowedNetworks\.1: expected an IP address or CIDR range/m)
  t.match(message, /^ {2}.*Unrecognized key: "colour"$/m, 'the unknown top-level key is named')
  t.equal(message.split('\n').length, 5, 'a header line and exactly four problems')
})

t.test('a new provider missing authorizationUrl is reported under its key path', async (t) => {
  const message = configError(() =>
    parseConfig({ providers: { acme: { tokenUrl: 'https://acme.example/token' } } }),
  )
  t.match(message, /^ {2}providers\.acme\.authorizationUrl: required for a provider that is not built in$/m)
  t.notMatch(message, 'providers.acme.tokenUrl', 'the valid field is not reported')
})

// Every problem at once (issue 2, "Config"): a fix-one-rerun-fix-the-next loop is what this rules out.
t.test('provider problems are reported together with file problems', async (t) => {
  const message = configError(() =>
    parseConfig({ listen: { port: -1 }, providers: { acme: { tokenUrl: 'https://acme.example/token' } } }),
  )
  t.match(message, /^ {2}listen\.port: /m)
  t.match(message, /^ {2}providers\.acme\.authorizationUrl: /m)
})

t.test('a missing publicUrl is reported together with file problems', async (t) => {
  const message = configError(() => parseConfig({ listen: { host: '0.0.0.0', port: -1 } }))
  t.match(message, /^ {2}listen\.port: /m)
  t.match(message, /^ {2}publicUrl: required when listen\.host is not loopback/m)
})

t.test('a new provider with both URLs is accepted with the defaults', async (t) => {
  const config = parseConfig({
    providers: { acme: { authorizationUrl: 'https://acme.example/authorize', tokenUrl: 'https://acme.example/token' } },
  })
  const acme = config.providers.acme
  t.ok(acme)
  t.equal(acme?.providerId, 'acme')
  t.equal(acme?.displayName, 'acme')
  t.equal(acme?.clientAuth, 'body')
  t.equal(acme?.scopeSeparator, ' ')
  t.equal(acme?.usePkce, true)
})

t.test('http URLs: loopback accepted, anything else rejected', async (t) => {
  for (const url of ['http://127.0.0.1:9000/token', 'http://localhost:9000/token', 'http://[::1]:9000/token']) {
    const config = parseConfig({ providers: { dexcom: { tokenUrl: url } } })
    t.equal(config.providers.dexcom?.tokenUrl, url, `${url} accepted`)
  }
  const message = configError(() => parseConfig({ providers: { dexcom: { tokenUrl: 'http://example.com/token' } } }))
  t.match(message, 'providers.dexcom.tokenUrl: expected an https URL, got "http://example.com/token"')
})

t.test('publicUrl must be an origin', async (t) => {
  const config = parseConfig({ publicUrl: 'https://box.tail1234.ts.net:8400', tls: 'tailscale-serve' })
  t.equal(config.publicUrl, 'https://box.tail1234.ts.net:8400')
  t.equal(config.redirectUri, 'https://box.tail1234.ts.net:8400/oauth/callback')
  const trailing = parseConfig({ publicUrl: 'https://box.tail1234.ts.net:8400/', tls: 'tailscale-serve' })
  t.equal(trailing.redirectUri, 'https://box.tail1234.ts.net:8400/oauth/callback', 'a bare trailing slash is fine')

  for (const url of ['https://box.tail1234.ts.net:8400/latchkey', 'https://box.tail1234.ts.net/?x=1']) {
    const message = configError(() => parseConfig({ publicUrl: url }))
    t.match(message, /^ {2}publicUrl: expected an origin only/m, `${url} rejected`)
  }
  const insecure = configError(() => parseConfig({ publicUrl: 'http://box.tail1234.ts.net:8400' }))
  t.match(insecure, /^ {2}publicUrl: expected an https URL/m)
})

t.test('an https publicUrl in front of a loopback listener needs tls: serve mode is never implied', async (t) => {
  const message = configError(() => parseConfig({ publicUrl: 'https://box.tail1234.ts.net:8400' }))
  t.match(
    message,
    /^ {2}tls: required when publicUrl is https \("https:\/\/box\.tail1234\.ts\.net:8400"\) and latchkey listens on loopback: behind tailscale serve set tls: "tailscale-serve"; to terminate TLS here set tls\.certFile and tls\.keyFile$/m,
  )
  t.equal(parseConfig({ publicUrl: 'https://box.tail1234.ts.net:8400', tls: 'tailscale-serve' }).tls.mode, 'tailscale-serve', 'serve mode is accepted')
  t.equal(parseConfig({ publicUrl: 'http://127.0.0.1:8400' }).tls.mode, 'none', 'plain loopback needs none')
})

t.test('a non-loopback listen.host needs a publicUrl', async (t) => {
  const message = configError(() => parseConfig({ listen: { host: '0.0.0.0' } }))
  t.match(message, /^ {2}publicUrl: required when listen\.host is not loopback \(got "0\.0\.0\.0"\)$/m)
  const ok = parseConfig({ listen: { host: '100.101.102.103' }, publicUrl: 'https://box.tail1234.ts.net:8400' })
  t.equal(ok.listen.host, '100.101.102.103')
  t.equal(ok.publicUrl, 'https://box.tail1234.ts.net:8400')
  const v6 = parseConfig({ listen: { host: '::1', port: 8401 } })
  t.equal(v6.publicUrl, 'http://[::1]:8401')
})

t.test('client credentials come from the environment', async (t) => {
  const { env } = setup(t, JSON.stringify({}))
  const config = loadConfig({
    ...env,
    LATCHKEY_DEXCOM_CLIENT_ID: 'us-id',
    LATCHKEY_DEXCOM_CLIENT_SECRET: 'us-secret',
    LATCHKEY_DEXCOM_EU_CLIENT_ID: 'eu-id',
  })
  t.equal(config.providers.dexcom?.clientId, 'us-id')
  t.equal(config.providers.dexcom?.clientSecret, 'us-secret')
  t.equal(config.providers['dexcom-eu']?.clientId, 'eu-id')
  t.equal(config.providers['dexcom-eu']?.clientSecret, undefined)
  t.equal(config.providers['dexcom-jp']?.clientId, undefined, 'other regions untouched')
})

t.test('environment credentials win over the file', async (t) => {
  const { env } = setup(t, JSON.stringify({ providers: { dexcom: { clientId: 'file-id', clientSecret: 'file-secret' } } }))
  const fromFile = loadConfig(env)
  t.equal(fromFile.providers.dexcom?.clientId, 'file-id')
  t.equal(fromFile.providers.dexcom?.clientSecret, 'file-secret')
  const fromEnv = loadConfig({ ...env, LATCHKEY_DEXCOM_CLIENT_ID: 'env-id' })
  t.equal(fromEnv.providers.dexcom?.clientId, 'env-id')
  t.equal(fromEnv.providers.dexcom?.clientSecret, 'file-secret')
})

t.test('LATCHKEY_API_TOKEN wins over the file', async (t) => {
  const fileToken = 'file-token-0123456789abcdef0123456789'
  const { env } = setup(t, JSON.stringify({ apiToken: fileToken }))
  t.equal(loadConfig(env).apiToken, fileToken)
  const envToken = 'env-token-abcdefghijklmnopqrstuvwxyz0123'
  t.equal(loadConfig({ ...env, LATCHKEY_API_TOKEN: envToken }).apiToken, envToken)
  const shortEnv = configError(() => loadConfig({ ...env, LATCHKEY_API_TOKEN: 'short-env-secret' }))
  t.match(shortEnv, /LATCHKEY_API_TOKEN/, 'a too-short token from the environment is rejected')
  t.notMatch(shortEnv, 'short-env-secret', 'without echoing it')
  const short = configError(() => parseConfig({ apiToken: 'short' }))
  t.match(short, /^ {2}apiToken: expected at least 32 characters$/m)
})

t.test('an override of a built-in keeps its other fields', async (t) => {
  const config = parseConfig({
    providers: {
      dexcom: { tokenUrl: 'http://127.0.0.1:9999/v2/oauth2/token' },
      strava: { scopes: ['read', 'activity:read'] },
      google: { extraParams: { prompt: 'select_account', hd: 'example.com' } },
    },
  })
  const dexcom = config.providers.dexcom
  t.equal(dexcom?.tokenUrl, 'http://127.0.0.1:9999/v2/oauth2/token')
  t.equal(dexcom?.authorizationUrl, 'https://api.dexcom.com/v2/oauth2/login')
  t.same(dexcom?.scopes, ['offline_access'])
  t.equal(dexcom?.usePkce, false)
  t.equal(dexcom?.displayName, 'Dexcom')

  const strava = config.providers.strava
  t.same(strava?.scopes, ['read', 'activity:read'])
  t.equal(strava?.scopeSeparator, ',')
  t.same(strava?.extraParams, { approval_prompt: 'auto' })

  t.same(
    config.providers.google?.extraParams,
    { access_type: 'offline', prompt: 'select_account', include_granted_scopes: 'true', hd: 'example.com' },
    'extraParams merge key by key',
  )
  const withings = parseConfig({ providers: { withings: { refreshParams: { extra: '1' } } } }).providers.withings
  t.same(withings?.refreshParams, { action: 'requesttoken', extra: '1' })
  t.same(withings?.tokenParams, { action: 'requesttoken' })
})

t.test('an override is validated like any provider field', async (t) => {
  const message = configError(() => parseConfig({ providers: { strava: { scopeSeparator: ';', usePkce: 'yes' } } }))
  t.match(message, /^ {2}providers\.strava\.scopeSeparator: .*expected one of/m)
  t.match(message, /^ {2}providers\.strava\.usePkce: .*expected boolean/m)
})

t.test('a bad provider id says what an id must look like', async (t) => {
  const message = configError(() => parseConfig({ providers: { Bad_Id: { clientId: 'x' } } }))
  t.match(message, /^ {2}providers\.Bad_Id: /m, 'the key path names the bad id')
  t.match(message, 'expected lower-case letters, digits and dashes', 'and what was expected')
})
