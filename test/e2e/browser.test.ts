// The browser leg once for real: Debian's chromium (playwright-core) opens the start link,
// oidc-provider auto-approves, and the callback page that chromium renders says connected.
import { readFile } from 'node:fs/promises'
import t from 'tap'
import { chromiumAvailable, launchChromium } from '../support/chromium.js'
import { postFlow, startTestDaemon } from '../support/daemon.js'
import { freePort } from '../support/deps.js'
import { codeExchanges, startOidcServer } from '../support/oidc-server.js'

t.test('chromium: start link → provider → rendered callback page', { skip: chromiumAvailable() ? false : 'Debian chromium is not installed (/usr/bin/chromium)' }, async (t) => {
  const port = await freePort()
  const as = await startOidcServer({
    clients: [{ clientId: 'web', clientSecret: 'web-secret', redirectUris: [`http://127.0.0.1:${port}/oauth/callback`], authMethod: 'client_secret_basic' }],
  })
  t.teardown(() => as.close())
  const d = await startTestDaemon(t, {
    listen: { host: '127.0.0.1', port },
    publicUrl: `http://127.0.0.1:${port}`,
    providers: {
      acme: { displayName: 'Acme Health', authorizationUrl: as.authorizationUrl, tokenUrl: as.tokenUrl, clientId: 'web', clientSecret: 'web-secret', clientAuth: 'basic', scopes: ['offline_access'], issuer: as.issuer },
    },
  })
  const flow = await postFlow(d, 'acme')
  const browser = await launchChromium()
  t.teardown(() => browser.close())
  const page = await (await browser.newContext()).newPage()
  await page.goto(flow.startUrl)
  await page.waitForURL(/\/oauth\/callback\?/)
  t.equal(await page.title(), 'Acme Health connected', 'the tab title names the provider')
  t.match(await page.locator('body').innerText(), /Acme Health connected\s+Your terminal has the confirmation\. You can close this tab\./, 'the page says so')
  const code = new URL(page.url()).searchParams.get('code') ?? ''
  t.ok(code.length > 10, 'the provider sent a code')
  t.notMatch(await page.content(), code, 'the page never echoes the code')
  const auth = JSON.parse(await readFile(d.config.authFile, 'utf8'))
  t.equal(auth.acme?.type, 'oauth', 'auth.json holds the tokens')
  t.equal(codeExchanges(as).length, 1, 'one token request')
})
