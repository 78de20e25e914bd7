// Secrets never leak (oauth-security.md E1): a full connect through the daemon and several
// refreshes, then every log line and every byte of the SQLite files is searched for the
// tokens, the code, the verifier, the client secret and the API token.
import { readFileSync, readdirSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { TokenSource } from '../../src/oauth/refresh.js'
import { CookieBrowser } from '../support/cookie-browser.js'
import { postFlow, startTestDaemon, TEST_API_TOKEN } from '../support/daemon.js'
import { freePort } from '../support/deps.js'
import { startOidcServer } from '../support/oidc-server.js'

const SECRET = 'canary-secret-Zq81xW3vLm0p'

t.test('tokens, code, verifier, secret and API token appear only in auth.json', async (t) => {
  const port = await freePort()
  const as = await startOidcServer({ clients: [{ clientId: 'canary', clientSecret: SECRET, redirectUris: [`http://127.0.0.1:${port}/oauth/callback`], authMethod: 'client_secret_post' }] })
  t.teardown(() => as.close())
  const d = await startTestDaemon(t, {
    listen: { host: '127.0.0.1', port },
    publicUrl: `http://127.0.0.1:${port}`,
    providers: { acme: { displayName: 'Acme', authorizationUrl: as.authorizationUrl, tokenUrl: as.tokenUrl, clientId: 'canary', clientSecret: SECRET, scopes: ['offline_access'] } },
  })
  const flow = await postFlow(d, 'acme')
  const page = await new CookieBrowser().get(flow.startUrl)
  t.match(page.body, /Acme connected/)

  const source = new TokenSource(d.daemon.deps)
  for (let i = 0; i < 3; i++) await source.getAccessToken('acme', { minValidityMs: 3_600_000 }) // longer than the 5 s tokens: refresh every time
  await d.daemon.close() // let every job finish and flush before reading the artefacts
  // Every token the authorization server ever handed out, whoever asked for it.
  const issued = new Set(as.tokenRequests.flatMap((r) => r.issued))
  t.ok(issued.size >= 8, 'at least four access and four refresh tokens were issued')
  const exchange = as.tokenRequests.find((r) => r.grantType === 'authorization_code')
  const canaries = [...issued, exchange?.params.code, exchange?.params.code_verifier, SECRET, TEST_API_TOKEN].filter((v): v is string => typeof v === 'string' && v.length > 0)
  t.equal(canaries.length, issued.size + 4)
  const logs = d.logs.text()
  t.match(logs, /"msg":"connected"/, 'the resolve job’s log lines (from its worker thread) are in the log searched')
  const dbFiles = readdirSync(d.config.dataDir).filter((f) => f.startsWith('latchkey.db'))
  t.ok(dbFiles.includes('latchkey.db'))
  const dbBytes = dbFiles.map((f) => readFileSync(join(d.config.dataDir, f)).toString('latin1')).join('\n')
  for (const canary of canaries) {
    t.notOk(logs.includes(canary), `not in the log: ${canary.slice(0, 6)}…`)
    t.notOk(dbBytes.includes(canary), `not in the database files: ${canary.slice(0, 6)}…`)
  }
  const auth = readFileSync(d.config.authFile, 'utf8')
  const last = JSON.parse(auth).acme
  t.ok(issued.has(last.refresh) && issued.has(last.access), 'auth.json holds the last issued pair')
  t.notOk(auth.includes(SECRET), 'the client secret is not in auth.json')
})
