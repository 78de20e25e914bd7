// The network guard for real, across test hosts in network namespaces this test creates: one
// with a tailnet (100.64.0.0/10) address reaches the callback, one outside gets 403. And a
// daemon whose tailnet address is not up yet waits for it instead of binding elsewhere.
// Outside hosts use TEST-NET-2/3 ranges (this machine's own eth0 is on 192.0.2.0/24).
import { execFileSync, spawn } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { BIN } from '../support/child-daemon.js'
import { startTestDaemon } from '../support/daemon.js'
import { freePort, tempDir } from '../support/deps.js'
import { fetchFrom, netnsUnavailable, testHost } from '../support/netns.js'

const unavailable = netnsUnavailable()
if (unavailable) console.log(`# network namespace tests skipped: ${unavailable}`)

t.test('a tailnet peer is served, a peer outside the tailnet ranges gets 403', { skip: unavailable ?? false }, async (t) => {
  const tailnetHost = testHost(t, 'tn', '100.64.77.1', '100.64.77.2')
  const outsideHost = testHost(t, 'out', '203.0.113.1', '203.0.113.2', ['100.64.77.0/24 via 203.0.113.1'])
  const port = await freePort()
  // Served on the host side of the tailnet link only (publicUrl says https: TLS is not the point here).
  await startTestDaemon(t, { listen: { host: '100.64.77.1', port }, publicUrl: 'https://latchkey.test:8400' })
  const base = `http://100.64.77.1:${port}`
  t.equal(await fetchFrom(tailnetHost, `${base}/healthz`), '200', '100.64.77.2 reaches latchkey')
  t.equal(await fetchFrom(tailnetHost, `${base}/oauth/callback?state=${'a'.repeat(43)}&code=x`), '400', 'and its callback route (an unknown state is a 400)')
  t.equal(await fetchFrom(outsideHost, `${base}/healthz`), '403', '203.0.113.2 is refused')
  t.equal(await fetchFrom(outsideHost, `${base}/oauth/callback?state=${'a'.repeat(43)}&code=x`), '403', 'on every route, before any handler work')
})

t.test('a tailnet address that is not up yet: retried, never another interface', { skip: unavailable ?? false }, async (t) => {
  const ns = testHost(t, 'late', '198.51.100.1', '198.51.100.2')
  const dir = tempDir(t)
  const configPath = join(dir, 'config.json')
  const port = 8400
  writeFileSync(configPath, JSON.stringify({ listen: { host: '100.64.88.8', port }, publicUrl: 'https://latchkey.test:8400', dataDir: join(dir, 'data'), authFile: join(dir, 'auth.json') }))
  const child = spawn('ip', ['netns', 'exec', ns, process.execPath, BIN, 'serve'], { env: { ...process.env, LATCHKEY_CONFIG: configPath, HOME: dir }, stdio: ['ignore', 'pipe', 'pipe'] })
  let output = ''
  child.stdout.on('data', (c) => (output += c))
  child.stderr.on('data', (c) => (output += c))
  const exited = new Promise((resolve) => child.once('exit', resolve))
  t.teardown(async () => {
    child.kill('SIGTERM')
    await exited
  })
  for (let i = 0; i < 100 && !output.includes('listen address not available yet'); i++) await new Promise((r) => setTimeout(r, 50))
  t.match(output, /listen address not available yet \(is the tailnet up\?\); retrying/)
  const listening = () => execFileSync('ip', ['netns', 'exec', ns, 'ss', '-Htln'], { encoding: 'utf8' })
  t.notMatch(listening(), `:${port}`, 'nothing listens meanwhile, on no interface')
  execFileSync('ip', ['netns', 'exec', ns, 'ip', 'addr', 'add', '100.64.88.8/32', 'dev', 'lo'])
  let status = ''
  for (let i = 0; i < 80 && status !== '200'; i++) {
    await new Promise((r) => setTimeout(r, 250))
    status = await fetchFrom(ns, `http://100.64.88.8:${port}/healthz`)
  }
  t.equal(status, '200', 'once the address appears, the daemon binds it')
  t.match(listening(), `100.64.88.8:${port}`)
  t.notMatch(listening(), new RegExp(`(0\\.0\\.0\\.0|\\*|\\[::\\]):${port}`), 'and only it')
})
