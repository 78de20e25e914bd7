// Time from "connect <url>" to the link (what the chat and POST /oauth/flows {"url"} do before
// answering): discovery (401 challenge, RFC 9728, RFC 8414) and dynamic registration against an MCP
// SDK server and oidc-provider on loopback, then the flow row. Cold: nothing stored (the discovered
// provider and the registered client are deleted before each run). Cached: the stored metadata and
// client are reused. Baseline, same run: starting a flow for a configured provider.
import { join } from 'node:path'
import { parseConfig } from '../src/config.js'
import { createDeps } from '../src/deps.js'
import { prepareUrlConnection } from '../src/discovery/connect-url.js'
import { createLogger } from '../src/log.js'
import { startFlow } from '../src/oauth/flow.js'
import { tempDir } from '../test/support/deps.js'
import { mcpWorld } from '../test/support/mcp-world.js'
import { Cleanup, fixed, goal, median, percentile, table } from './support.js'

const RUNS = 20
const COLD_GOAL_MS = 500
const CACHED_GOAL_MS = 10

async function timed(runs: number, fn: () => Promise<unknown>): Promise<number[]> {
  const out: number[] = []
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now()
    await fn()
    out.push(performance.now() - t0)
  }
  return out.sort((a, b) => a - b)
}

export async function connectUrl(): Promise<void> {
  const cleanup = new Cleanup()
  const { warn } = console
  console.warn = (...args: unknown[]) => (typeof args[0] === 'string' && /oidc-provider/.test(args[0]) ? undefined : warn(...args))
  try {
    const { mcp, as } = await mcpWorld(cleanup)
    const dir = tempDir(cleanup)
    const config = parseConfig(
      {
        dataDir: join(dir, 'data'),
        authFile: join(dir, 'auth.json'),
        providers: { acme: { displayName: 'Acme', authorizationUrl: `${as.issuer}/auth`, tokenUrl: `${as.issuer}/token`, clientId: 'c', scopes: ['openid'] } },
      },
      { HOME: dir },
    )
    const deps = createDeps(config, { log: createLogger('silent') })
    cleanup.teardown(() => deps.db.close())
    const link = async () => startFlow(deps, { provider: (await prepareUrlConnection(deps, mcp.url)).provider.providerId })
    await link() // warm-up: module loading and oidc-provider's first keys
    const cold = await timed(RUNS, async () => {
      deps.db.exec('DELETE FROM discovered_providers; DELETE FROM registered_clients')
      await link()
    })
    const cached = await timed(RUNS, link)
    const baseline = await timed(RUNS, async () => startFlow(deps, { provider: 'acme' }))
    const row = (name: string, v: number[]) => [name, fixed(median(v)), fixed(percentile(v, 95))]
    console.log(table(['', 'median ms', 'p95 ms'], [row('connect <url>, cold (discovery + registration)', cold), row('connect <url>, cached metadata and client', cached), row('baseline: connect <configured provider>', baseline)]))
    console.log(`  ${RUNS} runs each; ${as.registrations.length} registrations at the authorization server`)
    console.log(goal('cold median', `${fixed(median(cold))} ms`, `≤ ${COLD_GOAL_MS} ms`, median(cold) <= COLD_GOAL_MS))
    console.log(goal('cached median', `${fixed(median(cached))} ms`, `≤ ${CACHED_GOAL_MS} ms`, median(cached) <= CACHED_GOAL_MS))
  } finally {
    console.warn = warn
    await cleanup.run()
  }
}
