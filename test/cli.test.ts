// The CLI's commands through main(), against the real daemon and oidc-provider on loopback.
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { loadConfig } from '../src/config.js'
import { startDaemon } from '../src/daemon.js'
import { createLogger } from '../src/log.js'
import { EXIT, main } from '../src/cli/main.js'
import type { Output } from '../src/cli/output.js'
import { CookieBrowser } from './support/cookie-browser.js'
import { tempDir, type Teardown } from './support/deps.js'
import { acmeWorld } from './support/acme-world.js'
import { codeExchanges } from './support/oidc-server.js'

function capture(): Output & { out: string[]; err: string[] } {
  const out: string[] = []
  const err: string[] = []
  return { out, err, info: (l) => out.push(l), error: (l) => err.push(l) }
}

async function setup(t: Teardown) {
  const { env, as, port, dir, configPath } = await acmeWorld(t, { clientId: 'cli', clientSecret: 'cli-secret' })
  return { env, as, port, dir, configPath }
}

t.test('connect prints the link, waits, and reports ✅ with the scopes; status shows it', async (t) => {
  const { env, as } = await setup(t)
  const daemon = await startDaemon(loadConfig(env), { log: createLogger('silent') })
  t.teardown(() => daemon.close())

  const io = capture()
  const running = main(['connect', 'acme'], env, io)
  let link: string | undefined
  for (let i = 0; !link && i < 200; i++) {
    link = io.out.join('\n').match(/http:\/\/127\.0\.0\.1:\d+\/oauth\/start\/[A-Za-z0-9_-]{43}/)?.[0]
    if (!link) await new Promise((r) => setTimeout(r, 25))
  }
  t.ok(link, 'the start link is printed')
  t.match(io.out[0], /expires in 10 min/)
  await new CookieBrowser().get(link as string)
  t.equal(await running, EXIT.ok)
  t.equal(io.out.at(-1), '✅ Acme connected (scopes: offline_access)')
  t.same(io.err, [])
  t.equal(codeExchanges(as).length, 1)

  const status = capture()
  t.equal(await main(['status'], env, status), EXIT.ok)
  t.match(status.out.join('\n'), /^acme {2}✓ connected\n {2}token: expires in (less than a minute|\d+ min)\n {2}scopes: offline_access$/)
})

t.test('connect: unknown provider, unreachable daemon, usage', async (t) => {
  const { env } = await setup(t)
  const noDaemon = capture()
  t.equal(await main(['connect', 'acme'], { ...env, LATCHKEY_API_TOKEN: 'x'.repeat(40) }, noDaemon), EXIT.unreachable)
  t.match(noDaemon.err.join('\n'), /cannot reach the latchkey daemon at http:\/\/127\.0\.0\.1:\d+ \(ECONNREFUSED\); is "latchkey serve" running\?/)

  const daemon = await startDaemon(loadConfig(env), { log: createLogger('silent') })
  t.teardown(() => daemon.close())
  const unknown = capture()
  t.equal(await main(['connect', 'nope'], env, unknown), EXIT.failed)
  t.match(unknown.err.join('\n'), /unknown provider "nope"; known providers: acme, dexcom, dexcom-eu/)

  const usage = capture()
  t.equal(await main(['connect'], env, usage), EXIT.usage)
  t.match(usage.err.join('\n'), /^error: missing required argument 'provider'\n\(add --help for usage and examples\)$/)
  t.equal(await main(['frobnicate'], env, capture()), EXIT.usage)
  t.equal(await main(['status', '--bogus'], env, capture()), EXIT.usage)
  t.equal(await main([], env, capture()), EXIT.usage)
})

t.test('providers lists the catalog and which have credentials', async (t) => {
  const { env } = await setup(t)
  const io = capture()
  t.equal(await main(['providers'], { ...env, LATCHKEY_FITBIT_CLIENT_ID: 'fb' }, io), EXIT.ok)
  const text = io.out.join('\n')
  for (const id of ['dexcom', 'dexcom-eu', 'dexcom-jp', 'dexcom-sandbox', 'oura', 'fitbit', 'withings', 'strava', 'whoop', 'google', 'github', 'spotify', 'acme'])
    t.match(text, new RegExp(`^${id} `, 'm'), `${id} listed`)
  t.match(text, /^acme +Acme +client id \+ secret +PKCE, auth body$/m)
  t.match(text, /^fitbit +Fitbit +client id +PKCE, auth basic$/m)
  t.match(text, /^dexcom +Dexcom +no client id +no PKCE, auth body$/m)
})

t.test('a bad config exits 3 and lists every problem', async (t) => {
  const dir = tempDir(t)
  const configPath = join(dir, 'config.json')
  writeFileSync(configPath, JSON.stringify({ listen: { port: 'x' }, providers: { acme: { tokenUrl: 'ftp://x' }, beta: { displayName: 'Beta' } }, bogus: 1 }))
  const io = capture()
  t.equal(await main(['status'], { LATCHKEY_CONFIG: configPath, HOME: dir }, io), EXIT.config)
  const text = io.err.join('\n')
  t.match(text, `invalid config ${configPath}`)
  t.match(text, /listen\.port: /)
  t.match(text, /providers\.acme\.tokenUrl: expected an https URL, got "ftp:\/\/x"/)
  t.match(text, /bogus/)
  t.match(text, /providers\.beta\.authorizationUrl: required for a provider that is not built in/, 'provider gaps are listed in the same run')
})

t.test('status with nothing connected says how to start', async (t) => {
  const { env } = await setup(t)
  const io = capture()
  t.equal(await main(['status'], env, io), EXIT.ok)
  t.match(io.out[0], /No connections yet/)
})
