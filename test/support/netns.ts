import { execFile, execFileSync, spawn, spawnSync } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { BIN } from './child-daemon.js'
import { tempDir, type Teardown } from './deps.js'

// Every address these helpers assign lives inside a namespace the test created: the runner's own
// network (where a real tailscaled may route 100.64.0.0/10) is never touched.

function ip(...args: string[]): void {
  execFileSync('ip', args, { stdio: ['ignore', 'ignore', 'pipe'] })
}

/** Why network namespaces joined by veth pairs cannot be used here, or undefined when they can. */
export function netnsUnavailable(): string | undefined {
  const name = `lk-probe-${process.pid}`
  const r = spawnSync('ip', ['netns', 'add', name], { encoding: 'utf8' })
  if (r.error) return `ip not available (${r.error.message})`
  if (r.status !== 0) return `cannot create network namespaces (${r.stderr.trim()})`
  try {
    const veth = spawnSync('ip', ['netns', 'exec', name, 'ip', 'link', 'add', 'lkp0', 'type', 'veth', 'peer', 'name', 'lkp1'], { encoding: 'utf8' })
    if (veth.status !== 0) return `cannot create veth pairs (${veth.stderr.trim()})`
    return undefined
  } finally {
    spawnSync('ip', ['netns', 'del', name])
  }
}

/** A test host: a fresh network namespace with loopback up; removed (with its links) on teardown. */
export function testHost(t: Teardown, tag: string): string {
  const ns = `lk-${tag}-${process.pid}`
  ip('netns', 'add', ns)
  t.teardown(() => spawnSync('ip', ['netns', 'del', ns]))
  ip('netns', 'exec', ns, 'ip', 'link', 'set', 'lo', 'up')
  return ns
}

/** Joins two test hosts with a veth pair, `a.address` and `b.address` (/24) on each end. */
export function link(a: { ns: string; address: string }, b: { ns: string; address: string }): void {
  const name = `lk${process.pid % 100000}${a.address.split('.').at(-2)}${b.address.split('.').at(-1)}`.slice(0, 13)
  ip('link', 'add', `${name}a`, 'netns', a.ns, 'type', 'veth', 'peer', 'name', `${name}b`, 'netns', b.ns)
  for (const [end, side] of [[`${name}a`, a], [`${name}b`, b]] as const) {
    ip('netns', 'exec', side.ns, 'ip', 'addr', 'add', `${side.address}/24`, 'dev', end)
    ip('netns', 'exec', side.ns, 'ip', 'link', 'set', end, 'up')
  }
}

/** Adds a route inside a test host (`ip route add …`). */
export function route(ns: string, spec: string): void {
  ip('netns', 'exec', ns, 'ip', 'route', 'add', ...spec.split(' '))
}

/**
 * GET `url` from inside namespace `ns` with node's fetch; resolves with the status, or the
 * error code. Asynchronous, so a server in this process can answer meanwhile.
 */
export async function fetchFrom(ns: string, url: string): Promise<string> {
  const script = `fetch(${JSON.stringify(url)}, { signal: AbortSignal.timeout(5000) }).then(r => console.log(r.status), e => console.log(e.cause?.code ?? e.name))`
  const { stdout } = await promisify(execFile)('ip', ['netns', 'exec', ns, process.execPath, '-e', script], { encoding: 'utf8' })
  return stdout.trim()
}

/** `latchkey serve` as a child process inside test host `ns`, with its own config; stopped on teardown. */
export function serveIn(t: Teardown, ns: string, raw: Record<string, unknown>): { output(): string; until(text: string): Promise<boolean> } {
  const dir = tempDir(t)
  const configPath = join(dir, 'config.json')
  writeFileSync(configPath, JSON.stringify({ dataDir: join(dir, 'data'), authFile: join(dir, 'auth.json'), ...raw }))
  // `ip netns exec` execs node in place, so the signal below reaches the daemon itself.
  const child = spawn('ip', ['netns', 'exec', ns, process.execPath, BIN, 'serve'], { env: { ...process.env, LATCHKEY_CONFIG: configPath, HOME: dir }, stdio: ['ignore', 'pipe', 'pipe'] })
  let output = ''
  child.stdout.on('data', (c) => (output += c))
  child.stderr.on('data', (c) => (output += c))
  const exited = new Promise((resolve) => child.once('exit', resolve))
  t.teardown(async () => {
    child.kill('SIGTERM')
    await exited
  })
  return {
    output: () => output,
    // Bounded by attempts, not a clock assertion: gives a slow machine 30 s.
    async until(text) {
      for (let i = 0; i < 300 && !output.includes(text) && child.exitCode === null; i++) await new Promise((r) => setTimeout(r, 100))
      return output.includes(text)
    },
  }
}
