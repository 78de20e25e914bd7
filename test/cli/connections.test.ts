// connect → status --json → needs reconnecting (exit 1) → reconnect → disconnect, each a real child
// process of the built bin, against the daemon and oidc-provider (with its RFC 7009 revocation
// endpoint) on loopback. Another tool's key in auth.json stays byte for byte through all of it.
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs'
import { dirname } from 'node:path'
import t from 'tap'
import { loadConfig } from '../../src/config.js'
import { startDaemon } from '../../src/daemon.js'
import { markNeedsReauth } from '../../src/db/connections.js'
import { createLogger } from '../../src/log.js'
import { acmeWorld } from '../support/acme-world.js'
import { runLatchkey, type CliRun } from '../support/child-daemon.js'
import { CookieBrowser } from '../support/cookie-browser.js'

/** Runs the bin; `onStdout` sees stdout as it arrives (to follow a printed link). */
const latchkey = (env: Record<string, string>, args: string[], onStdout?: (text: string) => void) => runLatchkey(env, args, onStdout ? { onStdout } : {})

/** `connect`/`reconnect` in a child; opens the printed link like a browser would. */
async function connectVia(env: Record<string, string>, command: 'connect' | 'reconnect'): Promise<CliRun> {
  let opened = false
  return latchkey(env, [command, 'acme'], (text) => {
    const link = /http:\/\/127\.0\.0\.1:\d+\/oauth\/start\/[A-Za-z0-9_-]{43}/.exec(text)?.[0]
    if (link && !opened) {
      opened = true
      void new CookieBrowser().get(link)
    }
  })
}

// Another agent tool's entry, spaced the way that tool wrote it.
const FOREIGN = '{"type": "api",   "key": "sk-their-key-1234"}'

t.test('status/providers --json, needs reconnecting, reconnect, disconnect with revocation', async (t) => {
  // Hour-long access tokens: the daemon's refresh job must not renew them mid-test (lastRefreshAt stays null).
  const world = await acmeWorld(t, { clientId: 'cli', clientSecret: 'cli-secret', accessTokenTtlSeconds: 3600 })
  const config = JSON.parse(readFileSync(world.configPath, 'utf8')) as { providers: { acme: Record<string, unknown> } }
  config.providers.acme.revocationUrl = `${world.as.issuer}/token/revocation`
  writeFileSync(world.configPath, JSON.stringify(config))
  mkdirSync(dirname(world.authFile), { recursive: true, mode: 0o700 })
  writeFileSync(world.authFile, `{\n  "anthropic": ${FOREIGN}\n}\n`, { mode: 0o600 })
  const daemon = await startDaemon(loadConfig(world.env), { log: createLogger('silent') })
  t.teardown(() => daemon.close())
  const env = world.env
  const auth = () => JSON.parse(readFileSync(world.authFile, 'utf8')) as Record<string, { access?: string; refresh?: string }>

  const connected = await connectVia(env, 'connect')
  t.equal(connected.code, 0, connected.stderr)
  t.match(connected.stdout, /✅ Acme connected \(scopes: offline_access\)/)
  const first = auth().acme
  t.ok(first?.refresh, 'tokens stored')
  t.match(readFileSync(world.authFile, 'utf8'), `"anthropic": ${FOREIGN}`, 'the foreign key is kept byte for byte')

  const status = await latchkey(env, ['status', '--json'])
  t.equal(status.code, 0)
  const rows = JSON.parse(status.stdout) as Record<string, unknown>[]
  t.equal(rows.length, 1, 'only OAuth entries of known providers are connections')
  t.match(rows[0], {
    provider: 'acme',
    name: 'Acme',
    state: 'connected',
    label: 'connected',
    needsAttention: false,
    expiresAt: /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/,
    lastRefreshAt: null,
    scopes: ['offline_access'],
    missingScopes: [],
    reconsentDueAt: null,
    failedRefreshes: 0,
    lastError: null,
  })
  t.same(Object.keys(rows[0] ?? {}).sort(), ['dataLate', 'expiresAt', 'failedRefreshes', 'label', 'lastError', 'lastRefreshAt', 'missingScopes', 'name', 'needsAttention', 'provider', 'reconsentDueAt', 'scopes', 'state'])

  const providers = await latchkey(env, ['providers', '--json'])
  t.equal(providers.code, 0)
  const list = JSON.parse(providers.stdout) as Record<string, unknown>[]
  t.same(
    list.find((p) => p.id === 'acme'),
    { id: 'acme', name: 'Acme', hasClientId: true, hasClientSecret: true, usePkce: true, clientAuth: 'body', redirectMode: 'callback', revocable: true, source: 'config' },
  )
  t.match(list.find((p) => p.id === 'dexcom'), { hasClientId: false, usePkce: false })

  // The refresh job found the grant revoked: status says so in words and exits 1, like `gh auth status`.
  markNeedsReauth(daemon.deps.db, 'acme', Date.now(), 'invalid_grant')
  const attention = await latchkey(env, ['status'])
  t.equal(attention.code, 1, 'exit 1 when a connection needs attention')
  t.match(attention.stdout, /^acme {2}✗ needs reconnecting\n {2}token: expire.*\n {2}scopes: offline_access\n {2}run: latchkey reconnect acme\n$/)
  t.notMatch(attention.stdout, /needs_reauth/)

  const again = await connectVia(env, 'reconnect')
  t.equal(again.code, 0, again.stderr)
  t.match(again.stdout, /^Reconnecting Acme: the current tokens stay in place until the new connection succeeds\./)
  t.match(again.stdout, /✅ Acme connected/)
  t.not(auth().acme?.refresh, first?.refresh, 'the new flow replaced the tokens')
  t.equal((await latchkey(env, ['status'])).code, 0, 'and the connection is fine again')
  const second = auth().acme

  const gone = await latchkey(env, ['disconnect', 'acme', '--json'])
  t.equal(gone.code, 0, gone.stderr)
  t.same(JSON.parse(gone.stdout), { provider: 'acme', tokensRemoved: true, revocation: 'revoked', credentialsForgotten: false, clientForgotten: false, clientDeletion: null })
  t.equal(readFileSync(world.authFile, 'utf8').match(/"anthropic": (.*\})/)?.[1], FOREIGN, 'the other key is byte-identical')
  t.same(Object.keys(auth()), ['anthropic'], 'only the disconnected entry went')
  const refused = await fetch(world.as.tokenUrl, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: String(second?.refresh), client_id: 'cli', client_secret: 'cli-secret' }),
  })
  t.equal(refused.status, 400, 'the provider refuses the revoked refresh token')

  const none = await latchkey(env, ['status', '--json'])
  t.same([none.code, JSON.parse(none.stdout)], [0, []], 'no connections: an empty array')
  const twice = await latchkey(env, ['disconnect', 'acme'])
  t.same([twice.code, twice.stdout], [1, 'Acme was not connected.\n'])
  const unknown = await latchkey(env, ['disconnect', 'nope'])
  t.equal(unknown.code, 1)
  t.match(unknown.stderr, /unknown provider "nope"; known providers: acme/)

  const everything = [connected, status, providers, attention, again, gone, none, twice].map((r) => r.stdout + r.stderr).join('\n')
  for (const secret of [first?.access, first?.refresh, second?.access, second?.refresh, 'cli-secret', 'sk-their-key-1234'])
    t.notMatch(everything, String(secret), 'no token or secret in any output')
})
