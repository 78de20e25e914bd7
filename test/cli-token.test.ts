// `latchkey token <provider>` as a whole process (scripts call it): the token alone on stdout,
// and distinct exit codes for not connected, needs reconnecting and provider unreachable.
import { execFile } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { promisify } from 'node:util'
import t from 'tap'
import { openDb } from '../src/db/open.js'
import { BIN } from './support/child-daemon.js'
import { fakeServer, tempDir } from './support/deps.js'

const run = promisify(execFile)

async function token(env: Record<string, string>, ...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [BIN, 'token', ...args], { env: { ...process.env, ...env } })
    return { code: 0, stdout, stderr }
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string }
    return { code: e.code, stdout: e.stdout, stderr: e.stderr }
  }
}

t.test('prints a fresh token, refreshing an expired one; exit codes for each problem', async (t) => {
  let answer: { status?: number; json: unknown } = { json: { access_token: 'fresh-at', refresh_token: 'rt-2', expires_in: 3600, token_type: 'Bearer' } }
  const as = await fakeServer(t, () => answer)
  const dir = tempDir(t)
  const authFile = join(dir, 'auth.json')
  const configPath = join(dir, 'config.json')
  writeFileSync(
    configPath,
    JSON.stringify({
      dataDir: join(dir, 'data'),
      authFile,
      providers: {
        acme: { displayName: 'Acme', authorizationUrl: `${as.url}/a`, tokenUrl: `${as.url}/t`, clientId: 'c', clientSecret: 's', scopes: [] },
        beta: { displayName: 'Beta', authorizationUrl: `${as.url}/a`, tokenUrl: `${as.url}/t`, clientId: 'c', clientSecret: 's', scopes: [] },
      },
    }),
  )
  const env = { LATCHKEY_CONFIG: configPath, HOME: dir }
  const far = Date.now() + 3_600_000
  writeFileSync(authFile, JSON.stringify({ acme: { type: 'oauth', access: 'valid-at', refresh: 'rt-1', expires: far } }), { mode: 0o600 })

  t.same(await token(env, 'acme'), { code: 0, stdout: 'valid-at\n', stderr: '' }, 'a valid token, alone on stdout')
  t.equal(as.requests.length, 0)

  writeFileSync(authFile, JSON.stringify({ acme: { type: 'oauth', access: 'old-at', refresh: 'rt-1', expires: Date.now() - 1 } }), { mode: 0o600 })
  t.same(await token(env, 'acme'), { code: 0, stdout: 'fresh-at\n', stderr: '' }, 'an expired token is refreshed first')
  t.equal(as.requests.length, 1)

  const notConnected = await token(env, 'beta')
  t.equal(notConnected.code, 5)
  t.equal(notConnected.stdout, '')
  t.match(notConnected.stderr, 'Beta is not connected: run "latchkey connect beta"')

  writeFileSync(authFile, JSON.stringify({ beta: { type: 'oauth', access: 'b-at', refresh: 'b-rt', expires: Date.now() - 1 } }), { mode: 0o600 })
  answer = { status: 503, json: { error: 'temporarily_unavailable' } }
  const unreachable = await token(env, 'beta')
  t.equal(unreachable.code, 7, 'provider unreachable')
  t.match(unreachable.stderr, /Beta: the token expired and refreshing it is failing \(temporarily_unavailable\)/)

  const db = openDb(join(dir, 'data', 'latchkey.db'))
  db.prepare("UPDATE connections SET status = 'needs_reauth' WHERE provider = 'beta'").run()
  db.close()
  const reauth = await token(env, 'beta')
  t.equal(reauth.code, 6, 'needs reconnecting')
  t.match(reauth.stderr, 'Beta needs reconnecting: run "latchkey connect beta"')

  const usage = await token(env)
  t.equal(usage.code, 2)
  t.match(usage.stderr, /^error: missing required argument 'provider'/)
  t.equal((await token(env, 'acme', '--min-validity', 'soon')).code, 2)

  writeFileSync(authFile, '{"acme": ')
  const corrupt = await token(env, 'acme')
  t.equal(corrupt.code, 1)
  t.match(corrupt.stderr, `${authFile} is not a valid JSON object, so latchkey will not write to it`)
  t.notMatch(unreachable.stderr + reauth.stderr + corrupt.stderr + notConnected.stderr, /rt-|b-at|old-at/, 'no token in error text')
})
