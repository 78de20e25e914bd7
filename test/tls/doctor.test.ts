// `latchkey doctor` against a `tailscale` stand-in placed first on PATH that prints recorded
// JSON for the logged-in, logged-out and Funnel-on cases, and against a real running daemon.
import { execFile } from 'node:child_process'
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { promisify } from 'node:util'
import t from 'tap'
import { loadConfig } from '../../src/config.js'
import { startDaemon } from '../../src/daemon.js'
import { createLogger } from '../../src/log.js'
import { main } from '../../src/cli/main.js'
import type { Output } from '../../src/cli/output.js'
import { makeCertificate } from '../support/certs.js'
import { BIN } from '../support/child-daemon.js'
import { freePort, tempDir, type Teardown } from '../support/deps.js'

const HOST = 'beryllium.tailnet.ts.net'

function capture(): Output & { lines: string[] } {
  const lines: string[] = []
  return { lines, info: (l) => lines.push(l), error: (l) => lines.push(l) }
}

/** A directory holding a `tailscale` script that answers from recorded JSON files. */
function tailscaleStandIn(t: Teardown, status: unknown, serve: unknown): string {
  const dir = tempDir(t)
  writeFileSync(join(dir, 'status.json'), JSON.stringify(status))
  writeFileSync(join(dir, 'serve.json'), JSON.stringify(serve))
  const script = join(dir, 'tailscale')
  writeFileSync(
    script,
    `#!/bin/sh\ncase "$*" in\n  "status --json") cat "${dir}/status.json" ;;\n  "serve status --json") cat "${dir}/serve.json" ;;\n  *) echo "unexpected: $*" >&2; exit 2 ;;\nesac\n`,
  )
  chmodSync(script, 0o755)
  return dir
}

function setup(t: Teardown, raw: Record<string, unknown>) {
  const dir = tempDir(t)
  const configPath = join(dir, 'config.json')
  writeFileSync(configPath, JSON.stringify({ dataDir: join(dir, 'data'), authFile: join(dir, 'agent', 'auth.json'), ...raw }))
  return { dir, env: { LATCHKEY_CONFIG: configPath, HOME: dir } }
}

const LOGGED_IN = { BackendState: 'Running', Self: { DNSName: `${HOST}.`, TailscaleIPs: ['100.64.0.7'] } }

t.test('tailnet deployment: certificate, login, MagicDNS name, Funnel off', async (t) => {
  const { dir, env } = setup(t, {})
  const cert = makeCertificate(dir, { host: HOST, days: 80 })
  writeFileSync(env.LATCHKEY_CONFIG, JSON.stringify({ dataDir: join(dir, 'data'), authFile: join(dir, 'agent', 'auth.json'), listen: { host: '127.0.0.1', port: 8400 }, publicUrl: `https://${HOST}:8400`, tls: cert }))
  const bin = tailscaleStandIn(t, LOGGED_IN, { AllowFunnel: {} })
  const out = capture()
  const code = await main(['doctor'], { ...env, PATH: `${bin}:${process.env.PATH}` }, out)
  const text = out.lines.join('\n')
  t.match(text, `✅ config ${env.LATCHKEY_CONFIG} is valid`)
  t.match(text, `✅ certificate ${cert.certFile} readable, key matches`)
  t.match(text, `✅ certificate is valid for ${HOST}`)
  t.match(text, /✅ certificate has 79 days left/)
  t.match(text, '✅ tailscale is installed and logged in')
  t.match(text, `✅ publicUrl's host ${HOST} is this machine's MagicDNS name`)
  t.match(text, '✅ Funnel is off for port 8400')
  // The MagicDNS name does not resolve inside the test sandbox, so the daemon is unreachable here.
  t.match(text, new RegExp(`❌ the daemon does not answer https://${HOST.replace(/\./g, '\\.')}:8400/healthz \\(.+\\): is "latchkey serve" running\\?`))
  t.equal(code, 1, 'a failed check makes the exit code 1')
})

t.test('logged out, wrong name, Funnel on, certificate for another host: each with its fix', async (t) => {
  const { dir, env } = setup(t, {})
  const cert = makeCertificate(dir, { host: 'other.tailnet.ts.net', days: 10 })
  writeFileSync(env.LATCHKEY_CONFIG, JSON.stringify({ dataDir: join(dir, 'data'), authFile: join(dir, 'agent', 'auth.json'), publicUrl: `https://${HOST}:8400`, listen: { host: '100.64.0.7', port: 8400 }, tls: cert }))
  const bin = tailscaleStandIn(t, { BackendState: 'NeedsLogin', Self: { DNSName: 'carbon.tailnet.ts.net.' } }, { AllowFunnel: { [`${HOST}:8400`]: true } })
  const out = capture()
  t.equal(await main(['doctor'], { ...env, PATH: `${bin}:${process.env.PATH}` }, out), 1)
  const text = out.lines.join('\n')
  t.match(text, `❌ certificate is not valid for ${HOST} (publicUrl): get one with tailscale cert ${HOST}`)
  t.match(text, /❌ certificate has only 9 days left: run tailscale cert again, or set tls.renewCommand/)
  t.match(text, '❌ tailscale is not connected (state NeedsLogin): run tailscale up')
  t.match(text, `❌ publicUrl's host ${HOST} is not this machine's MagicDNS name (carbon.tailnet.ts.net): set publicUrl to https://carbon.tailnet.ts.net:8400`)
  t.match(text, `❌ Tailscale Funnel exposes ${HOST}:8400 to the internet: run tailscale funnel --https=8400 off`)
})

t.test('no tailscale installed, loopback daemon running, unsafe modes', async (t) => {
  const port = await freePort()
  const { dir, env } = setup(t, { listen: { host: '127.0.0.1', port } })
  const daemon = await startDaemon(loadConfig(env), { log: createLogger('silent') })
  t.teardown(() => daemon.close())
  mkdirSync(join(dir, 'agent'), { recursive: true, mode: 0o700 })
  writeFileSync(join(dir, 'agent', 'auth.json'), '{}', { mode: 0o644 })
  chmodSync(join(dir, 'agent', 'auth.json'), 0o644)
  const out = capture()
  const code = await main(['doctor'], { ...env, PATH: '/nonexistent' }, out)
  const text = out.lines.join('\n')
  t.match(text, `➖ no TLS: plain HTTP on http://127.0.0.1:${port}, reachable from this machine only`)
  t.match(text, '➖ tailscale is not installed: tailnet checks skipped')
  t.match(text, `✅ the daemon answers http://127.0.0.1:${port}/healthz`)
  t.match(text, `✅ auth directory ${join(dir, 'agent')} is 700`)
  t.match(text, `❌ auth file ${join(dir, 'agent', 'auth.json')} is 644, readable by others: chmod 600 ${join(dir, 'agent', 'auth.json')}`)
  t.match(text, /✅ database .*latchkey\.db is 600/)
  t.match(text, /✅ API token file .*api-token is 600/)
  t.equal(code, 1)
  chmodSync(join(dir, 'agent', 'auth.json'), 0o600)
  t.match(text, `✅ auth file ${join(dir, 'agent', 'auth.json')} is a valid JSON object (0 entries)`)
  t.equal(await main(['doctor'], { ...env, PATH: '/nonexistent' }, capture()), 0, 'all good once fixed')

  writeFileSync(join(dir, 'agent', 'auth.json'), '{"anthropic": {"key": "half-wr')
  const corrupt = capture()
  t.equal(await main(['doctor'], { ...env, PATH: '/nonexistent' }, corrupt), 1, 'a corrupt auth.json fails')
  const auth = join(dir, 'agent', 'auth.json')
  t.match(corrupt.lines.join('\n'), `❌ auth file ${auth} is not a valid JSON object, so latchkey will not write tokens to it: repair it by hand, or move it away (mv ${auth} ${auth}.bad) to start empty`)
  t.notMatch(corrupt.lines.join('\n'), 'half-wr', 'the file content is never printed')
})

t.test('a bad config is the first failed check', async (t) => {
  const { env } = setup(t, { listen: { port: 'x' }, publicUrl: 'ftp://x' })
  const out = capture()
  t.equal(await main(['doctor'], env, out), 1)
  t.match(out.lines[0], /^❌ .*config\.json/, 'the file first')
  const problems = out.lines.slice(1).sort()
  t.equal(problems.length, 2, 'then one ❌ line per problem')
  t.match(problems[0], /^❌ listen\.port: .*expected number/)
  t.match(problems[1], /^❌ publicUrl: expected an https URL, got "ftp:\/\/x"/)
})

t.test('healthz through an https publicUrl: ✅ when the certificate is trusted, ❌ with the reason when not', async (t) => {
  const port = await freePort()
  const { dir, env } = setup(t, {})
  const cert = makeCertificate(dir, { host: 'localhost', days: 60 })
  writeFileSync(env.LATCHKEY_CONFIG, JSON.stringify({ dataDir: join(dir, 'data'), authFile: join(dir, 'agent', 'auth.json'), listen: { host: '127.0.0.1', port }, publicUrl: `https://localhost:${port}`, tls: cert }))
  const daemon = await startDaemon(loadConfig(env), { log: createLogger('silent') })
  t.teardown(() => daemon.close())
  // doctor runs as its own process, as a user runs it: the trust store is read at start-up.
  const doctor = (extra: Record<string, string>) =>
    promisify(execFile)(process.execPath, [BIN, 'doctor'], { env: { ...env, PATH: '/nonexistent', ...extra }, encoding: 'utf8' }).then(
      (r) => r.stdout,
      (err: { stdout: string }) => err.stdout,
    )
  const trusted = await doctor({ NODE_EXTRA_CA_CERTS: cert.certFile })
  t.match(trusted, `✅ the daemon answers https://localhost:${port}/healthz`)
  t.match(trusted, `✅ certificate is valid for localhost`)
  const untrusted = await doctor({})
  t.match(untrusted, new RegExp(`❌ the daemon does not answer https://localhost:${port}/healthz \\((DEPTH_ZERO_SELF_SIGNED_CERT|SELF_SIGNED_CERT_IN_CHAIN)\\)`), 'a certificate the client does not trust is named')
})
