// A daemon restart between the start link and the callback loses nothing: the flow lives in
// SQLite. Both daemons are real child processes of the compiled CLI, stopped by signal.
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import t from 'tap'
import { spawnDaemon } from '../support/child-daemon.js'
import { CookieBrowser } from '../support/cookie-browser.js'
import { acmeWorld } from '../support/acme-world.js'
import { codeExchanges } from '../support/oidc-server.js'

const API_TOKEN = 'restart-test-api-token-0123456789abcdef0123'

t.test('stop after the start link was issued, start again, the callback still connects', async (t) => {
  const { as, base, dir, env } = await acmeWorld(t, { clientId: 'c1', clientSecret: 's1', config: { apiToken: API_TOKEN } })
  const headers = { authorization: `Bearer ${API_TOKEN}`, 'content-type': 'application/json' }

  const first = await spawnDaemon(env, base)
  const created = await fetch(`${base}/oauth/flows`, { method: 'POST', headers, body: JSON.stringify({ provider: 'acme' }) })
  t.equal(created.status, 201)
  const flow = (await created.json()) as { state: string; startUrl: string }
  const browser = new CookieBrowser()
  // The user approves at the provider; the redirect back is held while the daemon restarts.
  const redirect = await browser.get(flow.startUrl, { stopAt: (url) => url.startsWith(`${base}/oauth/callback`) })
  const callbackUrl = String(redirect.headers.location)
  t.match(callbackUrl, /^http:\/\/127\.0\.0\.1:\d+\/oauth\/callback\?code=/)

  t.equal(await first.stop('SIGINT'), 0, 'SIGINT (pm2) stops the daemon cleanly')
  t.match(first.output(), /latchkey stopped/)

  const second = await spawnDaemon(env, base)
  t.teardown(() => second.stop())
  const page = await browser.get(callbackUrl)
  t.equal(page.status, 200)
  t.match(page.body, /<h1>Acme connected<\/h1><p>Your terminal has the confirmation\. You can close this tab\./)
  const pending = (await (await fetch(`${base}/oauth/pending/${flow.state}?wait=10`, { headers })).json()) as { status: string }
  t.equal(pending.status, 'connected')
  const auth = JSON.parse(await readFile(join(dir, 'auth.json'), 'utf8'))
  t.equal(auth.acme?.type, 'oauth')
  t.equal(codeExchanges(as).length, 1, 'the code was exchanged once')
  t.equal(await second.stop('SIGTERM'), 0, 'SIGTERM stops it cleanly too')
})
