// Secrets never leak, seen from outside (oauth-security.md E1): the daemon and `latchkey token`
// run as real processes at debug log level; a connect, refreshes, and a refresh the provider
// refuses (a replayed refresh token revokes the grant). Then their stdout and stderr and every
// file latchkey keeps beside auth.json and in its data directory (database, WAL, lock, temp and
// corrupt copies) are searched for every token, the code, the verifier and the client secret.
import { execFile } from 'node:child_process'
import { readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { promisify } from 'node:util'
import t from 'tap'
import { journalPath } from '../../src/store/auth-journal.js'
import { BIN, spawnDaemon } from '../support/child-daemon.js'
import { CookieBrowser } from '../support/cookie-browser.js'
import { acmeWorld } from '../support/acme-world.js'

const SECRET = 'canary-secret-Pw47nB2kXq9r'
const API_TOKEN = 'canary-api-token-0123456789abcdef0123456789'

/** Every file under `dir`, recursively, except those `skip` names. */
function filesUnder(dir: string, skip: (path: string) => boolean): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name)
    if (skip(path)) return []
    return statSync(path).isDirectory() ? filesUnder(path, skip) : [path]
  })
}

t.test('daemon and token CLI as processes: canaries only in auth.json (and the token on token’s stdout)', async (t) => {
  const { as, base, dir, env, authFile } = await acmeWorld(t, { clientId: 'canary', clientSecret: SECRET, basicAuth: true, authSubdir: 'agent', config: { apiToken: API_TOKEN, logLevel: 'debug' } })
  const authDir = join(dir, 'agent')
  const daemon = await spawnDaemon(env, base)
  t.teardown(() => daemon.stop())

  const headers = { authorization: `Bearer ${API_TOKEN}`, 'content-type': 'application/json' }
  const created = await fetch(`${base}/oauth/flows`, { method: 'POST', headers, body: JSON.stringify({ provider: 'acme' }) })
  const flow = (await created.json()) as { state: string; flowId: string; startUrl: string }
  await new CookieBrowser().get(flow.startUrl)
  const pending = (await (await fetch(`${base}/oauth/pending/${flow.state}?wait=20`, { headers })).json()) as { status: string }
  t.equal(pending.status, 'connected')

  const token = async () => {
    try {
      const { stdout, stderr } = await promisify(execFile)(process.execPath, [BIN, 'token', 'acme', '--min-validity', '3600'], { env: { ...process.env, ...env }, encoding: 'utf8' })
      return { code: 0, stdout, stderr }
    } catch (err) {
      const e = err as { code: number; stdout: string; stderr: string }
      return { code: e.code, stdout: e.stdout, stderr: e.stderr }
    }
  }
  // --min-validity beyond the 5 s token life: every call refreshes.
  const runs = [await token(), await token()]
  t.same(runs.map((r) => r.code), [0, 0], 'two refreshes through `latchkey token`')

  // Put back a refresh token that was already used: the provider revokes the grant (invalid_grant).
  const first = as.tokenRequests.find((r) => r.grantType === 'authorization_code')
  const used = as.tokenRequests.find((r) => r.grantType === 'refresh_token')?.params.refresh_token
  t.type(used, 'string', 'a spent refresh token to replay')
  const auth = JSON.parse(readFileSync(authFile, 'utf8'))
  // The journal still holds the answers that replaced it, and would roll the file forward to the
  // newest token (as after a power cut); a replay needs a store that knows nothing newer.
  writeFileSync(journalPath(authFile), '')
  writeFileSync(authFile, JSON.stringify({ ...auth, acme: { ...auth.acme, refresh: used, expires: 1 } }), { mode: 0o600 })
  const refused = await token()
  t.equal(refused.code, 6, 'needs reconnecting')
  t.match(refused.stderr, /Acme needs reconnecting: run "latchkey connect acme"/)
  t.ok(as.tokenRequests.some((r) => r.error === 'invalid_grant'), 'the provider refused the replayed refresh token')

  t.equal(await daemon.stop('SIGINT'), 0)
  const issued = new Set(as.tokenRequests.flatMap((r) => r.issued))
  t.ok(issued.size >= 6, 'three access and three refresh tokens were issued')
  const canaries = [...issued, first?.params.code, first?.params.code_verifier, SECRET].filter((v): v is string => typeof v === 'string' && v.length > 0)
  t.equal(canaries.length, issued.size + 3)

  const outputs: Record<string, string> = {
    'daemon stdout+stderr': daemon.output(),
    ...Object.fromEntries(runs.map((r, i) => [`token run ${i + 1} stderr`, r.stderr])),
    'refused token run stdout+stderr': refused.stdout + refused.stderr,
  }
  t.match(outputs['daemon stdout+stderr'], /"msg":"connected"/, 'the daemon logged at debug level to its own output')
  // The start link's flow id and the state are capabilities too: the log keeps a prefix only.
  t.notOk(outputs['daemon stdout+stderr']?.includes(flow.flowId), 'the full flow id (the start link) is not logged')
  t.notOk(outputs['daemon stdout+stderr']?.includes(flow.state), 'nor the state')
  t.match(outputs['daemon stdout+stderr'], `"flowId":"${flow.flowId.slice(0, 8)}…"`, 'a prefix is, for finding the row')
  t.match(outputs['daemon stdout+stderr'], `"path":"/oauth/start/${flow.flowId.slice(0, 8)}…"`, 'request logs cut the start path too')
  const files = [...filesUnder(authDir, (p) => p === authFile), ...filesUnder(join(dir, 'data'), () => false)]
  t.ok(files.some((f) => f.endsWith('latchkey.db')), 'the database is among the files searched')
  for (const f of files) outputs[f] = readFileSync(f).toString('latin1')
  for (const [where, text] of Object.entries(outputs))
    t.same(canaries.filter((c) => text.includes(c)).map((c) => `${c.slice(0, 6)}…`), [], `no canary in ${where}`)
  for (const [i, r] of runs.entries()) t.ok(issued.has(r.stdout.replace(/\n$/, '')), `token run ${i + 1}: stdout is one issued access token alone`)
})
