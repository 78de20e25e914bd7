// `latchkey simulate dexcom`: starts the simulator, prints a config snippet that latchkey's own
// config parser accepts, logs requests, and stops on its signal. Needs no config file.
import t from 'tap'
import { until } from '../../support/until.js'
import { parseConfig } from '../../../src/config.js'
import { main } from '../../../src/cli/main.js'
import { SIMULATOR_CLIENT, simulateCommand } from '../../../src/integrations/dexcom/cli-simulate.js'
import { CookieBrowser } from '../../support/cookie-browser.js'
import { freePort, tempDir } from '../../support/deps.js'

function capture() {
  const info: string[] = []
  const error: string[] = []
  return { out: { info: (s: string) => void info.push(s), error: (s: string) => void error.push(s) }, info, error }
}


t.test('prints the URL and a config snippet that latchkey accepts; serves until stopped', async (t) => {
  const dir = tempDir(t)
  const port = await freePort()
  const c = capture()
  const stop = new AbortController()
  const env = { LATCHKEY_CONFIG: `${dir}/missing.json`, HOME: dir }
  const running = simulateCommand({ port, host: '127.0.0.1', delayMinutes: 60, seed: 'latchkey', redirectUri: ['http://127.0.0.1:8400/oauth/callback'] }, env, c.out, { signal: stop.signal })
  await until(() => c.info.length > 0)
  const banner = c.info[0] ?? ''
  t.match(banner, `Dexcom simulator listening on http://127.0.0.1:${port}`)
  const snippet = JSON.parse(banner.slice(banner.indexOf('{'), banner.lastIndexOf('}') + 1)) as { providers: Record<string, Record<string, string>> }
  const entry = snippet.providers['dexcom-sandbox']
  t.same(entry, {
    authorizationUrl: `http://127.0.0.1:${port}/v2/oauth2/login`,
    tokenUrl: `http://127.0.0.1:${port}/v2/oauth2/token`,
    apiBaseUrl: `http://127.0.0.1:${port}`,
    clientId: SIMULATOR_CLIENT.clientId,
    clientSecret: SIMULATOR_CLIENT.clientSecret,
  })
  const config = parseConfig({ ...snippet, dataDir: `${dir}/data`, authFile: `${dir}/auth.json` }, { HOME: dir })
  t.equal(config.providers['dexcom-sandbox']?.apiBaseUrl, `http://127.0.0.1:${port}`, "latchkey's config schema accepts the snippet")
  t.equal(config.dexcom.provider, 'dexcom-sandbox', 'the sync and /glucose follow the sandbox connection')

  const login = new URL(String(entry?.authorizationUrl))
  for (const [k, v] of Object.entries({ client_id: SIMULATOR_CLIENT.clientId, redirect_uri: 'http://127.0.0.1:8400/oauth/callback', response_type: 'code', scope: 'offline_access', state: 's' })) login.searchParams.set(k, v)
  const page = await new CookieBrowser().get(login.href)
  t.equal(page.status, 200, 'the login page answers for the printed client and redirect URI')
  await until(() => c.info.length > 1)
  t.equal(c.info[1], 'GET /v2/oauth2/login 200', 'requests are logged without their query')

  stop.abort()
  t.equal(await running, 0, 'exits 0 when stopped')
  await t.rejects(fetch(login.href), 'and no longer listens')
})

t.test('a secret passed in stays off the terminal; defaults come from the environment', async (t) => {
  const c = capture()
  const stop = new AbortController()
  const env = { LATCHKEY_SIM_CLIENT_ID: 'env-client', LATCHKEY_SIM_CLIENT_SECRET: 'env-secret-canary-5521', LATCHKEY_SIM_REDIRECT_URI: 'http://127.0.0.1:1/cb', LATCHKEY_CONFIG: '/nonexistent/config.json' }
  const running = simulateCommand({ host: '127.0.0.1', delayMinutes: 60, seed: 'latchkey' }, env, c.out, { signal: stop.signal })
  await until(() => c.info.length > 0)
  stop.abort()
  t.equal(await running, 0)
  const text = c.info.join('\n')
  t.match(text, '"clientId": "env-client"')
  t.notMatch(text, 'env-secret-canary-5521', 'the secret is not printed')
  t.match(text, 'http://127.0.0.1:1/cb')
})

t.test('usage errors and help need no config', async (t) => {
  const env = { LATCHKEY_CONFIG: '/nonexistent/config.json' }
  for (const [args, code] of [
    [['simulate', 'dexcom', '--help'], 0],
    [['simulate', 'help', 'dexcom'], 0],
    [['simulate'], 2],
    [['simulate', 'fitbit'], 2],
    [['simulate', 'dexcom', '--port', 'abc'], 2],
    [['simulate', 'dexcom', '--bogus'], 2],
    [['simulate', 'dexcom', '--redirect-uri', 'not a url'], 2],
    [['simulate', 'dexcom', '--host', '0.0.0.0'], 1],
  ] as const) {
    const c = capture()
    t.equal(await main([...args], env, c.out), code, args.join(' '))
    if (code === 0) t.match(c.info.join('\n'), /^Usage: latchkey simulate dexcom \[options\]/)
    else t.ok(c.error.length > 0, `${args.join(' ')}: says why`)
  }
  const c = capture()
  await main(['--help'], env, c.out)
  t.match(c.info.join('\n'), /simulate dexcom/, 'the main usage lists the command')
})
