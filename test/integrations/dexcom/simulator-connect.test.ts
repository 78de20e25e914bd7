// The full latchkey connect flow against the simulator: the real daemon with providers.dexcom-sandbox
// pointed at it, the start link followed by a cookie browser submitting the login and consent forms,
// and once in chromium clicking through the sandbox login page.
import { readFile } from 'node:fs/promises'
import t from 'tap'
import { startDexcomSimulator, type DexcomSimulator } from '../../../src/integrations/dexcom/simulator/index.js'
import { chromiumAvailable, launchChromium } from '../../support/chromium.js'
import { CookieBrowser } from '../../support/cookie-browser.js'
import { postFlow, startTestDaemon, type TestDaemon } from '../../support/daemon.js'
import { freePort, type Teardown } from '../../support/deps.js'
import { formSubmitUrl } from '../../support/dexcom-simulator.js'

const CLIENT_ID = 'latchkey-sim-connect'
const CANARY_SECRET = 'sim-connect-secret-canary-9b2e44'

async function setup(t: Teardown): Promise<{ sim: DexcomSimulator; d: TestDaemon }> {
  const port = await freePort()
  const sim = await startDexcomSimulator({ clients: [{ clientId: CLIENT_ID, clientSecret: CANARY_SECRET, redirectUris: [`http://127.0.0.1:${port}/oauth/callback`] }] })
  t.teardown(() => sim.close())
  const d = await startTestDaemon(t, {
    listen: { host: '127.0.0.1', port },
    publicUrl: `http://127.0.0.1:${port}`,
    providers: {
      'dexcom-sandbox': { authorizationUrl: sim.authorizationUrl, tokenUrl: sim.tokenUrl, apiBaseUrl: sim.url, clientId: CLIENT_ID, clientSecret: CANARY_SECRET },
    },
  })
  return { sim, d }
}

async function storedEntry(d: TestDaemon): Promise<Record<string, unknown> | undefined> {
  const auth = JSON.parse(await readFile(d.config.authFile, 'utf8')) as Record<string, Record<string, unknown>>
  return auth['dexcom-sandbox']
}

async function readsData(sim: DexcomSimulator, access: unknown): Promise<number> {
  const now = Date.now()
  const q = (ms: number) => new Date(ms).toISOString().slice(0, 19)
  const res = await fetch(`${sim.url}/v3/users/self/egvs?startDate=${q(now - 86_400_000)}&endDate=${q(now)}`, { headers: { authorization: `Bearer ${String(access)}` } })
  const body = (await res.json()) as { records?: unknown[] }
  return res.status === 200 && (body.records?.length ?? 0) > 0 ? 200 : res.status
}

t.test('daemon: start link → sandbox login → consent → callback → tokens in auth.json', async (t) => {
  const { sim, d } = await setup(t)
  const flow = await postFlow(d, 'dexcom-sandbox')
  const authorize = new URL(flow.authorizationUrl)
  t.equal(authorize.origin + authorize.pathname, sim.authorizationUrl, 'the flow goes to the simulator')
  t.equal(authorize.searchParams.get('scope'), 'offline_access')
  t.notOk(authorize.searchParams.has('code_challenge'), 'no PKCE for Dexcom')

  const browser = new CookieBrowser()
  const login = await browser.get(flow.startUrl)
  t.equal(login.status, 200)
  t.match(login.body, /Dexcom Sandbox login/, 'the start link lands on the sandbox login page')
  const consent = await browser.get(formSubmitUrl(login.body, login.url, { username: 'SandboxUser7' }))
  t.match(consent.body, /Authorize access to Dexcom data/)
  const done = await browser.get(formSubmitUrl(consent.body, consent.url, { approve: 'yes' }))
  t.equal(done.status, 200)
  t.match(done.body, /Dexcom Sandbox connected/, 'the daemon says connected')

  const pending = (await (await d.api(`/oauth/pending/${flow.state}?wait=10`)).json()) as { status: string }
  t.equal(pending.status, 'connected')
  const entry = await storedEntry(d)
  t.equal(entry?.type, 'oauth')
  t.type(entry?.refresh, 'string', 'a refresh token was stored')
  t.equal(await readsData(sim, entry?.access), 200, 'the stored access token reads EGVs')
  t.equal(sim.stats.codeExchanges, 1, 'one code exchange')
  const token = sim.requests.filter((r) => r.path.endsWith('/token'))
  t.same(token.map((r) => [r.grantType, r.status]), [['authorization_code', 200]])
  t.notMatch(d.logs.text(), CANARY_SECRET, 'the client secret never reaches the log')
})

t.test('daemon: deny on the consent page ends the flow as denied, no token request', async (t) => {
  const { sim, d } = await setup(t)
  const flow = await postFlow(d, 'dexcom-sandbox')
  const browser = new CookieBrowser()
  const login = await browser.get(flow.startUrl)
  const consent = await browser.get(formSubmitUrl(login.body, login.url, { username: 'SandboxUser1' }))
  await browser.get(formSubmitUrl(consent.body, consent.url, { approve: 'no' }))
  const pending = (await (await d.api(`/oauth/pending/${flow.state}?wait=10`)).json()) as { status: string; error?: string }
  t.not(pending.status, 'connected')
  t.match(JSON.stringify(pending), /access_denied|denied/, 'the flow reports the denial')
  t.equal(sim.stats.tokenRequests, 0)
  t.equal(await storedEntry(d).catch(() => undefined), undefined, 'nothing stored')
})

t.test('chromium: connect through the sandbox login page', { skip: chromiumAvailable() ? false : 'Debian chromium is not installed (/usr/bin/chromium)' }, async (t) => {
  const { sim, d } = await setup(t)
  const flow = await postFlow(d, 'dexcom-sandbox')
  const browser = await launchChromium()
  t.teardown(() => browser.close())
  const page = await (await browser.newContext()).newPage()
  await page.goto(flow.startUrl)
  t.equal(await page.title(), 'Dexcom Sandbox login')
  await page.selectOption('#username', 'SandboxUser6')
  await page.click('#login')
  await page.waitForSelector('#approve')
  t.match(await page.locator('body').innerText(), /SandboxUser6/, 'the consent page names the chosen user')
  await page.click('#approve')
  await page.waitForURL(/\/oauth\/callback\?/)
  t.equal(await page.title(), 'Dexcom Sandbox connected', 'the callback page says connected')
  const pending = (await (await d.api(`/oauth/pending/${flow.state}?wait=10`)).json()) as { status: string }
  t.equal(pending.status, 'connected')
  const entry = await storedEntry(d)
  t.equal(await readsData(sim, entry?.access), 200, 'the stored token reads EGVs')
  t.equal(sim.stats.codeExchanges, 1)
})
