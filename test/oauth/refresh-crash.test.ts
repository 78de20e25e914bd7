// A process killed in the middle of a refresh: the file stays valid, and when the rotated
// refresh token was lost in flight the next refresh reports needs_reauth once, with no storm.
import { fork } from 'node:child_process'
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import t from 'tap'
import { getConnection } from '../../src/db/connections.js'
import { undeliveredOutbox } from '../../src/db/outbox.js'
import { refreshDueTokens } from '../../src/oauth/refresh-job.js'
import { TokenSource } from '../../src/oauth/refresh.js'
import { fakeServer, tempDir, testConfig, testDeps } from '../support/deps.js'

const CHILD = fileURLToPath(new URL('../support/child-token.ts', import.meta.url))

t.test('killed while its refresh request is in flight', async (t) => {
  // A strict provider: each refresh token works once; the server rotates as soon as the
  // request arrives, and holds the answer so the caller can be killed before it hears it.
  let current = 'rt-0'
  let n = 0
  const as = await fakeServer(t, (req) => {
    if (req.form.refresh_token !== current) return { status: 400, json: { error: 'invalid_grant' } }
    current = `rt-${++n}`
    return { json: { access_token: `at-${n}`, refresh_token: current, expires_in: 3600, token_type: 'Bearer' }, delayMs: 30_000 }
  })
  const dir = tempDir(t)
  const raw = {
    dataDir: join(dir, 'data'),
    authFile: join(dir, 'auth.json'),
    providers: { acme: { displayName: 'Acme', authorizationUrl: `${as.url}/a`, tokenUrl: `${as.url}/token`, clientId: 'c', clientSecret: 's', scopes: ['read'] } },
  }
  const deps = testDeps(t, { config: testConfig(t, raw), now: Date.now() })
  mkdirSync(dirname(deps.config.authFile), { recursive: true })
  const original = JSON.stringify({ acme: { type: 'oauth', access: 'at-0', refresh: 'rt-0', expires: Date.now() - 1000 }, other: { x: 1 } })
  writeFileSync(deps.config.authFile, original)
  const configFile = join(dir, 'config.json')
  writeFileSync(configFile, JSON.stringify(raw))

  const child = fork(CHILD, [configFile, 'acme', '3'], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'ignore', 'ignore', 'ipc'] })
  const exited = new Promise((resolve) => child.once('exit', resolve))
  await new Promise((resolve) => child.once('message', resolve))
  child.send('go')
  for (let i = 0; as.requests.length === 0 && i < 400; i++) await new Promise((r) => setTimeout(r, 25))
  t.equal(as.requests.length, 1, 'the child sent its refresh')
  child.kill('SIGKILL')
  await exited

  t.equal(readFileSync(deps.config.authFile, 'utf8'), original, 'auth.json is intact (the new pair never arrived)')
  // The lock died with the child: the next refresh does not wait for it.
  const source = new TokenSource(deps)
  await t.rejects(source.getAccessToken('acme'), { code: 'NEEDS_REAUTH' }, 'the lost rotation surfaces as needs_reauth')
  t.equal(as.requests.length, 2)
  for (let run = 0; run < 10; run++) {
    deps.clock.advance(60_000)
    await refreshDueTokens(deps, source)
  }
  t.equal(as.requests.length, 2, 'no storm: zero requests over the next 10 runs')
  t.equal(getConnection(deps.db, 'acme')?.status, 'needs_reauth')
  t.equal(undeliveredOutbox(deps.db).filter((m) => m.kind === 'needs_reauth').length, 1, 'reported once')
  t.same(JSON.parse(readFileSync(deps.config.authFile, 'utf8')).other, { x: 1 }, 'other keys untouched')
})
