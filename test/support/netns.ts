import { execFile, execFileSync, spawnSync } from 'node:child_process'
import { promisify } from 'node:util'
import type { Teardown } from './deps.js'

function ip(...args: string[]): void {
  execFileSync('ip', args, { stdio: ['ignore', 'ignore', 'pipe'] })
}

/** Why network namespaces cannot be used here, or undefined when they can. */
export function netnsUnavailable(): string | undefined {
  const name = `lk-probe-${process.pid}`
  const r = spawnSync('ip', ['netns', 'add', name], { encoding: 'utf8' })
  if (r.error) return `ip not available (${r.error.message})`
  if (r.status !== 0) return `cannot create network namespaces (${r.stderr.trim()})`
  spawnSync('ip', ['netns', 'del', name])
  return undefined
}

/**
 * A test host: a network namespace linked to this one by a veth pair, `hostAddress` on our
 * side and `nsAddress` inside (both /24), plus extra routes inside. Removed on teardown.
 */
export function testHost(t: Teardown, tag: string, hostAddress: string, nsAddress: string, routes: string[] = []): string {
  const ns = `lk-${tag}-${process.pid}`
  const short = `${tag}${process.pid % 100000}`.slice(0, 12)
  const outside = `${short}h`
  const inside = `${short}n`
  ip('netns', 'add', ns)
  t.teardown(() => spawnSync('ip', ['netns', 'del', ns]))
  ip('link', 'add', outside, 'type', 'veth', 'peer', 'name', inside)
  t.teardown(() => spawnSync('ip', ['link', 'del', outside]))
  ip('link', 'set', inside, 'netns', ns)
  ip('addr', 'add', `${hostAddress}/24`, 'dev', outside)
  ip('link', 'set', outside, 'up')
  ip('netns', 'exec', ns, 'ip', 'addr', 'add', `${nsAddress}/24`, 'dev', inside)
  ip('netns', 'exec', ns, 'ip', 'link', 'set', inside, 'up')
  ip('netns', 'exec', ns, 'ip', 'link', 'set', 'lo', 'up')
  for (const route of routes) ip('netns', 'exec', ns, 'ip', 'route', 'add', ...route.split(' '))
  return ns
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
