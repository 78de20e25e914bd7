// Daemon start-up: the generated API token (once, 0600, reused, and what the routes demand), and
// an auth.json that another tool left readable by others is narrowed at once, with a warning.
import { chmodSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { once } from 'node:events'
import { connect } from 'node:net'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import t from 'tap'
import { parseConfig } from '../src/config.js'
import { startDaemon } from '../src/daemon.js'
import { createLogger } from '../src/log.js'
import { startTestDaemon } from './support/daemon.js'
import { freePort, logCapture, tempDir } from './support/deps.js'

t.test('start-up: API token generated once and reused; a 0644 auth.json narrowed to 0600', async (t) => {
  const dir = tempDir(t)
  const authFile = join(dir, 'agent', 'auth.json')
  mkdirSync(join(dir, 'agent'), { recursive: true, mode: 0o700 })
  writeFileSync(authFile, '{"anthropic": {"type": "api", "key": "theirs"}}')
  chmodSync(authFile, 0o644)
  const port = await freePort()
  const config = parseConfig({ dataDir: join(dir, 'data'), authFile, listen: { host: '127.0.0.1', port } }, { HOME: dir })
  t.equal(config.apiToken, undefined, 'no apiToken configured')

  const start = async () => {
    const logs = logCapture()
    const daemon = await startDaemon(config, { log: createLogger('debug', logs.stream) })
    return { daemon, logs }
  }
  const first = await start()
  t.equal(statSync(authFile).mode & 0o777, 0o600, 'auth.json narrowed at start, before any write')
  t.match(first.logs.lines(), [{ level: 40, file: authFile, mode: '644', msg: 'auth file was readable by others; narrowing it to 0600' }])
  t.equal(readFileSync(authFile, 'utf8'), '{"anthropic": {"type": "api", "key": "theirs"}}', 'its content untouched')
  const tokenFile = join(dir, 'data', 'api-token')
  t.equal(statSync(tokenFile).mode & 0o777, 0o600, 'the generated API token file is 0600')
  const token = readFileSync(tokenFile, 'utf8').trim()
  t.match(token, /^[A-Za-z0-9_-]{43}$/, '32 random bytes')
  t.notOk(first.logs.text().includes(token), 'the token is never logged')
  const base = `http://127.0.0.1:${port}`
  t.equal((await fetch(`${base}/oauth/pending/${'a'.repeat(43)}`, { headers: { authorization: `Bearer ${token}` } })).status, 404, 'the generated token is the one the routes accept')
  t.equal((await fetch(`${base}/oauth/pending/${'a'.repeat(43)}`, { headers: { authorization: 'Bearer nope' } })).status, 401)
  await first.daemon.close()

  const second = await start()
  t.teardown(() => second.daemon.close())
  t.equal(readFileSync(tokenFile, 'utf8').trim(), token, 'a restart reuses the token')
  t.notMatch(second.logs.text(), /readable by others/, 'no warning once the file is 0600')
})

t.test('close does not wait for a connection on which no request came (a spare socket fetch or a browser opened)', async (t) => {
  const d = await startTestDaemon(t)
  const { port } = d.config.listen
  const spare = connect(port, '127.0.0.1')
  await once(spare, 'connect')
  const gone = once(spare, 'close')
  // Node counts such a connection busy until headersTimeout (60 s + its 30 s check); close cuts it after a grace.
  const outcome = await Promise.race([d.daemon.close().then(() => 'closed'), sleep(20_000, 'still waiting')])
  t.equal(outcome, 'closed')
  await gone
  t.ok(spare.destroyed, 'the spare connection was cut')
})
