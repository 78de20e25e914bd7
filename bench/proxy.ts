// The broker's cost: GET /proxy/<connection>/<path> with an agent token vs the same GET straight
// to the loopback upstream, in the same run; and a streamed 10 MB response through the proxy vs
// direct. The latchkey side is the real buildServer() (network guard, agent-token lookup, scope
// check, auth.json read for a fresh token, one audit row per request, logging at info into a
// discarding stream), in this process. The floor is a bare pass-through on the same stack as
// /proxy (node:http server, undici pool to the upstream), also in this process. The upstream (a bare node:http server) and the client (keep-alive
// sockets, latency at concurrency 1, throughput at 16) are child processes of their own, the same
// for every contender; each party's CPU time per request is measured (process.cpuUsage deltas), as
// all three share this machine's cores and the CPU they spend decides the ceiling.
import { spawn, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { availableParallelism, loadavg } from 'node:os'
import { Writable } from 'node:stream'
import { fileURLToPath } from 'node:url'
import { Pool } from 'undici'
import { addAgent } from '../src/broker/agents.js'
import { createDeps } from '../src/deps.js'
import { buildServer } from '../src/http/server.js'
import { createLogger } from '../src/log.js'
import { writeAuthFileAtomic } from '../src/store/auth-json.js'
import { testConfig } from '../test/support/deps.js'
import type { LoadResult } from './load.js'
import type { ClientAnswer, ClientJob, DownloadResult } from './proxy-client.js'
import { Cleanup, fixed, goal, median, stopChild, table, whole, withTimeout } from './support.js'

const ROUNDS = 3
const ROUND_MS = 2_000
const CONCURRENCY = 16
const BIG_BYTES = 10 * 1024 * 1024
const BIG_RUNS = 5
const API_TOKEN = 'bench-api-token-0123456789abcdef-0123456789'
const ITEM = JSON.stringify({ id: 'item-1', values: Array.from({ length: 10 }, (_, i) => i) })

/**
 * A bare node:http upstream: /api/item answers a small JSON, anything else streams BIG bytes.
 * Prints its port; answers any IPC message with its CPU time so far (µs).
 */
const UPSTREAM_SOURCE = `
const [item, big] = process.argv.slice(1)
const chunk = Buffer.alloc(64 * 1024, 0x61)
const server = require('node:http').createServer((req, res) => {
  if (req.url === '/api/item') {
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(item) })
    return res.end(item)
  }
  res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': Number(big) })
  let sent = 0
  const more = () => {
    while (sent < Number(big)) {
      sent += chunk.length
      if (!res.write(chunk)) return void res.once('drain', more)
    }
    res.end()
  }
  more()
})
process.on('message', () => { const u = process.cpuUsage(); process.send(u.user + u.system) })
process.on('disconnect', () => process.exit(0))
server.listen(0, '127.0.0.1', () => console.log(server.address().port))
`

/** CPU time per request (µs) of each party during one measurement. */
interface Costs {
  client: number
  upstream: number
  /** This process: the proxy under test (for direct: this process idling). */
  proxy: number
}

type Measured<R> = R & { costs: Costs }

function portOf(server: { address(): AddressInfo | string | null }): number {
  return (server.address() as AddressInfo).port
}

/** Sends one IPC message and waits for the next answer. */
async function ask<T>(child: ChildProcess, message: unknown, timeoutMs: number): Promise<T> {
  const answer = once(child, 'message') as Promise<[T]>
  child.send(message as object)
  const [value] = await withTimeout(answer, timeoutMs, 'bench child answer')
  return value
}

const cpuNow = () => {
  const u = process.cpuUsage()
  return u.user + u.system
}

/**
 * The largest request rate the machine allows when each request costs the parties `costs` µs of
 * CPU: all of them share `cores`, and each party is one thread, so neither the sum nor the
 * busiest party may exceed what is there.
 */
function ceiling(costs: Costs, cores: number): number {
  const sum = costs.client + costs.upstream + costs.proxy
  return Math.min((cores * 1e6) / sum, 1e6 / Math.max(costs.client, costs.upstream, costs.proxy))
}

export async function proxyBench(): Promise<void> {
  const cleanup = new Cleanup()
  try {
    const cores = availableParallelism()
    console.log(`  ${cores} cores; load average before: ${loadavg().map((l) => l.toFixed(2)).join(' ')}`)
    // The upstream runs in its own process, as a provider does on its own machine.
    const upstream = spawn(process.execPath, ['-e', UPSTREAM_SOURCE, ITEM, String(BIG_BYTES)], { stdio: ['ignore', 'pipe', 'inherit', 'ipc'] })
    cleanup.teardown(() => stopChild(upstream))
    const [line] = (await once(upstream.stdout!, 'data')) as [Buffer]
    const upstreamPort = Number(String(line).trim())

    const client = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(new URL('./proxy-client.ts', import.meta.url))], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
    cleanup.teardown(() => stopChild(client))

    const config = testConfig(cleanup, {
      publicUrl: 'http://127.0.0.1:8400',
      logLevel: 'info',
      apiToken: API_TOKEN,
      broker: { rateLimitPerMinute: 1_000_000 },
      providers: { bench: { displayName: 'Bench', authorizationUrl: 'https://as.example/a', tokenUrl: 'https://as.example/t', clientId: 'c', apiBaseUrl: `http://127.0.0.1:${upstreamPort}/api` } },
    })
    const sink = new Writable({ write: (_c, _e, cb) => cb() })
    const deps = createDeps(config, { log: createLogger('info', sink) })
    cleanup.teardown(() => deps.db.close())
    await writeAuthFileAtomic(config.authFile, { bench: { type: 'oauth', access: 'bench-access-token', refresh: 'bench-refresh', expires: Date.now() + 24 * 3_600_000, tokenType: 'Bearer' } })
    const { token } = addAgent(deps.db, 'bench', ['bench:GET:/item', 'bench:GET:/big'], Date.now())
    const app = await buildServer(deps, { apiToken: API_TOKEN, rateLimitPerMinute: 1_000_000_000 })
    cleanup.teardown(() => app.close())
    await app.listen({ host: '127.0.0.1', port: 0 })
    const proxyPort = portOf(app.server)
    const authorization = `Bearer ${token}`

    // The floor: a bare pass-through on /proxy's own stack (node:http server, undici pool to the
    // upstream) with no auth, audit or token, in this process: what forwarding alone costs.
    const pool = new Pool(`http://127.0.0.1:${upstreamPort}`, { connections: 64, bodyTimeout: 0 })
    cleanup.teardown(() => pool.close())
    const passThrough = createServer((req, res) => {
      pool.request({ path: `/api${(req.url ?? '').slice('/pass'.length)}`, method: 'GET' }).then(
        (answer) => {
          res.writeHead(answer.statusCode, answer.headers)
          answer.body.pipe(res)
        },
        () => res.destroy(),
      )
      req.resume()
    })
    await new Promise<void>((resolve) => passThrough.listen(0, '127.0.0.1', resolve))
    cleanup.teardown(() => new Promise<void>((resolve) => passThrough.close(() => resolve())))
    const passPort = portOf(passThrough)

    /** Runs one client job and measures every party's CPU time over it. */
    const measure = async <R>(job: ClientJob, count: (r: R) => number): Promise<Measured<R>> => {
      const up0 = await ask<number>(upstream, 'cpu', 5_000)
      const me0 = cpuNow()
      const answer = await ask<ClientAnswer<R>>(client, job, (job.kind === 'load' ? job.spec.maxMs : 60_000) + 20_000)
      const me = cpuNow() - me0
      const up = (await ask<number>(upstream, 'cpu', 5_000)) - up0
      if ('fatal' in answer) throw new Error(`bench client: ${answer.fatal}`)
      const n = Math.max(1, count(answer.result))
      return { ...answer.result, costs: { client: answer.cpuUs / n, upstream: up / n, proxy: me / n } }
    }
    const load = (port: number, path: string, concurrency: number, maxMs: number, auth?: string) =>
      measure<LoadResult>(
        { kind: 'load', spec: { port, requests: [{ path, ...(auth ? { authorization: auth } : {}) }], cycle: true, concurrency, maxMs, maxRequests: 1_000_000 } },
        (r) => r.count,
      )
    const direct = (concurrency: number, maxMs: number) => load(upstreamPort, '/api/item', concurrency, maxMs)
    const pass = (concurrency: number, maxMs: number) => load(passPort, '/pass/item', concurrency, maxMs)
    const proxied = (concurrency: number, maxMs: number) => load(proxyPort, '/proxy/bench/item', concurrency, maxMs, authorization)

    await direct(CONCURRENCY, 1_000)
    await pass(CONCURRENCY, 1_000)
    await proxied(CONCURRENCY, 1_000)
    type Runs = Measured<LoadResult>[]
    const lat = { direct: [] as Runs, proxied: [] as Runs }
    const tput = { direct: [] as Runs, proxied: [] as Runs, pass: [] as Runs }
    for (let round = 0; round < ROUNDS; round++) {
      lat.direct.push(await direct(1, ROUND_MS))
      lat.proxied.push(await proxied(1, ROUND_MS))
      tput.direct.push(await direct(CONCURRENCY, ROUND_MS))
      tput.proxied.push(await proxied(CONCURRENCY, ROUND_MS))
      tput.pass.push(await pass(CONCURRENCY, ROUND_MS))
    }
    const bad = [...lat.proxied, ...tput.proxied].reduce((n, r) => n + r.errors + Object.entries(r.statuses).filter(([s]) => s !== '200').reduce((m, [, c]) => m + c, 0), 0)
    const m = (rs: Runs, k: 'p50' | 'p99' | 'rps') => median(rs.map((r) => r[k]))
    const cost = (rs: Runs): Costs => ({
      client: median(rs.map((r) => r.costs.client)),
      upstream: median(rs.map((r) => r.costs.upstream)),
      proxy: median(rs.map((r) => r.costs.proxy)),
    })
    const costs = { direct: cost(tput.direct), pass: cost(tput.pass), proxied: cost(tput.proxied) }
    // For direct there is no proxy: what this process spent meanwhile is idling, left out of its ceiling.
    const directCosts: Costs = { ...costs.direct, proxy: 0 }
    const us = (v: number) => fixed(v, 0)
    const row = (name: string, rs: Runs, c: Costs, shown: Costs) => [
      name,
      whole(m(rs, 'rps')),
      rs.map((r) => whole(r.rps)).join(' / '),
      us(shown.client),
      us(shown.upstream),
      name.startsWith('direct') ? `(${us(c.proxy)})` : us(shown.proxy),
      whole(ceiling(shown, cores)),
      fixed(m(rs, 'rps') / ceiling(shown, cores), 2),
    ]
    console.log(`  ${ROUNDS} alternating rounds of ${ROUND_MS / 1000} s, keep-alive; latency at concurrency 1, requests per second and CPU at ${CONCURRENCY}`)
    console.log(
      table(
        ['', 'p50 ms (c=1)', 'p99 ms (c=1)'],
        [
          ['direct GET (baseline)', fixed(m(lat.direct, 'p50'), 3), fixed(m(lat.direct, 'p99'), 3)],
          ['GET through /proxy', fixed(m(lat.proxied, 'p50'), 3), fixed(m(lat.proxied, 'p99'), 3)],
        ],
      ),
    )
    console.log(
      table(
        [`c=${CONCURRENCY}`, 'rps', 'rps per round', 'CPU µs/req: client', 'upstream', 'proxy', 'ceiling rps', 'of ceiling'],
        [
          row('direct GET (baseline)', tput.direct, costs.direct, directCosts),
          row('bare pass-through (floor)', tput.pass, costs.pass, costs.pass),
          row('GET through /proxy', tput.proxied, costs.proxied, costs.proxied),
        ],
      ),
    )
    console.log(`  ceiling: ${cores} cores shared by all parties, each one thread: rps ≤ min(${cores} / (client + upstream + proxy), 1 / busiest party)`)
    if (bad) console.log(`  (${bad} proxied requests did not answer 200)`)
    const addedP50 = m(lat.proxied, 'p50') - m(lat.direct, 'p50')
    const addedP99 = m(lat.proxied, 'p99') - m(lat.direct, 'p99')
    console.log(`  added by the proxy: p50 ${fixed(addedP50, 3)} ms, p99 ${fixed(addedP99, 3)} ms`)
    console.log(goal('added p50 latency', `${fixed(addedP50, 3)} ms`, '≤ 1 ms', addedP50 <= 1))

    const ratio = m(tput.proxied, 'rps') / m(tput.direct, 'rps')
    // Arithmetic: a proxy is a server and a client, so it costs at least what the client and the
    // upstream cost together; with that, the proxied ceiling is half the direct one on any machine
    // where all three share the cores.
    const best = { ...directCosts, proxy: directCosts.client + directCosts.upstream }
    const bound = (c: Costs) => ceiling(c, cores) / ceiling(directCosts, cores)
    console.log(
      `  the most proxied/direct can be on this machine (ceiling over direct's ceiling): ${fixed(bound(best), 2)} for a proxy costing client + upstream (a server and a client), ` +
        `${fixed(bound({ ...directCosts, proxy: costs.pass.proxy }), 2)} at the bare pass-through's cost, ${fixed(bound({ ...directCosts, proxy: costs.proxied.proxy }), 2)} at /proxy's`,
    )
    console.log(goal('proxied rps / direct rps (issue 14)', fixed(ratio, 2), '≥ 0.5', ratio >= 0.5))
    // The goal this machine can judge: the broker's own work (token check, scope, fresh token,
    // audit row, log line) should cost no more CPU than the forwarding itself, which the bare
    // pass-through measures. In CPU per request, so that the other load on a shared machine moves it little.
    const own = costs.proxied.proxy - costs.pass.proxy
    const perFloor = costs.proxied.proxy / costs.pass.proxy
    console.log(`  /proxy's own work over the bare pass-through: ${us(own)} µs CPU per request; /proxy reaches ${fixed(m(tput.proxied, 'rps') / m(tput.pass, 'rps'), 2)} of the pass-through's rps`)
    console.log(goal("/proxy's CPU per request / the bare pass-through's", fixed(perFloor, 2), '≤ 2: its own work costs no more than forwarding', perFloor <= 2))

    const big = { direct: [] as number[], pass: [] as number[], proxied: [] as number[] }
    const bigCpu = { direct: [] as Costs[], pass: [] as Costs[], proxied: [] as Costs[] }
    const mbps = (r: Measured<DownloadResult>, into: Costs[]) => {
      into.push(r.costs)
      if (r.bytes !== BIG_BYTES) throw new Error(`got ${r.bytes} bytes, status ${r.status}`)
      return r.bytes / 2 ** 20 / (r.ms / 1000)
    }
    const download = (port: number, path: string, auth?: string) =>
      measure<DownloadResult>({ kind: 'download', spec: { port, path, ...(auth ? { authorization: auth } : {}) } }, () => 1)
    for (let i = 0; i < BIG_RUNS; i++) {
      big.direct.push(mbps(await download(upstreamPort, '/api/big'), bigCpu.direct))
      big.pass.push(mbps(await download(passPort, '/pass/big'), bigCpu.pass))
      big.proxied.push(mbps(await download(proxyPort, '/proxy/bench/big', authorization), bigCpu.proxied))
    }
    console.log(
      table(
        ['10 MB response', 'MB/s (median)', 'runs', 'CPU ms: client', 'upstream', 'proxy'],
        (
          [
            ['direct (baseline)', big.direct, bigCpu.direct],
            ['bare pass-through (floor)', big.pass, bigCpu.pass],
            ['through /proxy', big.proxied, bigCpu.proxied],
          ] as const
        ).map(([name, runs, cpu]) => {
          const c = (k: keyof Costs) => fixed(median(cpu.map((x) => x[k])) / 1000, 1)
          return [name, fixed(median(runs), 0), runs.map((v) => fixed(v, 0)).join(' / '), c('client'), c('upstream'), name.startsWith('direct') ? `(${c('proxy')})` : c('proxy')]
        }),
      ),
    )
    console.log(`  streamed throughput ratio: ${fixed(median(big.proxied) / median(big.direct), 2)} (no goal set; streamed, never buffered)`)
  } finally {
    await cleanup.run()
  }
}
