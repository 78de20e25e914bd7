// The daemon's log as a person and as pm2 see it: readable lines on a terminal (a real pty from
// util-linux `script`), JSON lines when piped. Both: one start-up line with the redirect URI on a
// line of its own, one line per request, /healthz not at info, no query string (codes).
import { spawn, type ChildProcess } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import t from 'tap'
import { BIN } from './support/child-daemon.js'
import { freePort, tempDir, type Teardown } from './support/deps.js'

async function world(t: Teardown) {
  const dir = tempDir(t)
  const port = await freePort()
  const configPath = join(dir, 'config.json')
  writeFileSync(configPath, JSON.stringify({ listen: { host: '127.0.0.1', port }, dataDir: join(dir, 'data'), authFile: join(dir, 'auth.json') }))
  return { base: `http://127.0.0.1:${port}`, env: { PATH: process.env.PATH ?? '', HOME: dir, LATCHKEY_CONFIG: configPath } }
}

/** Starts `proc`, waits for the start-up line, makes three requests, stops it; returns its output. */
async function run(t: Teardown, proc: ChildProcess, base: string): Promise<string> {
  let output = ''
  proc.stdout?.on('data', (c) => (output += c))
  proc.stderr?.on('data', (c) => (output += c))
  const exited = new Promise((resolve) => proc.once('close', resolve))
  t.teardown(() => void (proc.exitCode === null && proc.kill('SIGKILL')))
  for (let i = 0; !output.includes('/oauth/callback') && i < 600; i++) await sleep(100)
  await fetch(`${base}/healthz`)
  await fetch(`${base}/oauth/callback?code=CANARY-CODE-123&state=x`)
  await fetch(`${base}/nope`, { headers: { accept: 'application/json' } })
  await sleep(500)
  proc.kill('SIGINT')
  await exited
  return output
}

// eslint-disable-next-line no-control-regex
const plain = (s: string) => s.replace(/\u001b\[[0-9;]*m/g, '').replace(/\r/g, '')

t.test('on a terminal: readable lines, not JSON', async (t) => {
  const { base, env } = await world(t)
  // `script` gives the daemon a pty for stdout; -f flushes as it writes, -q drops the banner.
  const proc = spawn('script', ['-qfec', `exec ${process.execPath} ${BIN} serve`, '/dev/null'], { env, stdio: ['pipe', 'pipe', 'pipe'] })
  const text = plain(await run(t, proc, base))
  t.notMatch(text, /\{"level"/, 'no JSON lines')
  t.match(text, /^\[\d\d:\d\d:\d\d\] INFO: latchkey is listening on http:\/\/127\.0\.0\.1:\d+ \(public URL .*\); the redirect URI to register at each provider:$/m)
  t.match(text, new RegExp(`^${base}/oauth/callback$`, 'm'), 'the redirect URI alone on its line')
  t.match(text, /^\[\d\d:\d\d:\d\d\] INFO: GET \/oauth\/callback 400 \d+ ms$/m, 'one line per request')
  t.match(text, /^\[\d\d:\d\d:\d\d\] INFO: GET \/nope 404 \d+ ms$/m)
  t.notMatch(text, /healthz/, '/healthz is at debug')
  t.notMatch(text, /Server listening|incoming request|request completed|FSTDEP/)
  t.notMatch(text, 'CANARY-CODE-123', 'no code in the log')
})

t.test('piped (pm2, journald): JSON lines', async (t) => {
  const { base, env } = await world(t)
  const proc = spawn(process.execPath, [BIN, 'serve'], { env, stdio: ['ignore', 'pipe', 'pipe'] })
  const text = await run(t, proc, base)
  const lines = text.trim().split('\n').map((l) => JSON.parse(l) as { level: number; msg: string; statusCode?: number; req?: { path: string } })
  t.equal(lines.filter((l) => l.msg.startsWith('latchkey is listening')).length, 1, 'one start-up line')
  t.match(lines.find((l) => l.msg.startsWith('latchkey is listening'))?.msg, new RegExp(`\\n${base}/oauth/callback$`))
  const requests = lines.filter((l) => l.req)
  t.same(
    requests.map((l) => [l.msg.replace(/ \d+ ms$/, ''), l.req?.path, l.statusCode]),
    [
      ['GET /oauth/callback 400', '/oauth/callback', 400],
      ['GET /nope 404', '/nope', 404],
    ],
    'one line per request, /healthz not at info',
  )
  t.notMatch(text, /Server listening|incoming request|request completed/)
  t.notMatch(text, 'CANARY-CODE-123', 'no code in the log')
})
