// The broker's cost: GET /proxy/<connection>/<path> with an agent token vs the same GET straight
// to the loopback upstream, in the same run; and a streamed 10 MB response through the proxy vs
// direct. The latchkey side is the real buildServer() (network guard, agent-token lookup, scope
// check, auth.json read for a fresh token, one audit row per request, logging at info into a
// discarding stream). The upstream is a bare node:http server in its own process. Client: one worker thread with
// keep-alive sockets; latency at concurrency 1, throughput at 16.
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { Agent, createServer, get, request } from 'node:http'
import type { AddressInfo } from 'node:net'
import { Writable } from 'node:stream'
import { addAgent } from '../src/broker/agents.js'
import { createDeps } from '../src/deps.js'
import { buildServer } from '../src/http/server.js'
import { createLogger } from '../src/log.js'
import { writeAuthFileAtomic } from '../src/store/auth-json.js'
import { testConfig } from '../test/support/deps.js'
import { startLoadClient, type LoadResult } from './load.js'
import { Cleanup, fixed, goal, median, table, whole } from './support.js'

const ROUNDS = 3
const ROUND_MS = 2_000
const BIG_BYTES = 10 * 1024 * 1024
const BIG_RUNS = 5
const API_TOKEN = 'bench-api-token-0123456789abcdef-0123456789'
const ITEM = JSON.stringify({ id: 'item-1', values: Array.from({ length: 10 }, (_, i) => i) })

/** A bare node:http upstream: /api/item answers a small JSON, anything else streams BIG bytes. Prints its port. */
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
server.listen(0, '127.0.0.1', () => console.log(server.address().port))
`

function portOf(server: { address(): AddressInfo | string | null }): number {
  return (server.address() as AddressInfo).port
}

/** Downloads `path` and returns MB/s (bytes checked). */
function download(port: number, path: string, authorization?: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now()
    get({ host: '127.0.0.1', port, path, headers: authorization ? { authorization } : {} }, (res) => {
      let bytes = 0
      res.on('data', (c: Buffer) => (bytes += c.length))
      res.on('end', () => (bytes === BIG_BYTES ? resolve(bytes / 2 ** 20 / ((performance.now() - t0) / 1000)) : reject(new Error(`got ${bytes} bytes, status ${res.statusCode}`))))
      res.on('error', reject)
    }).on('error', reject)
  })
}

export async function proxyBench(): Promise<void> {
  const cleanup = new Cleanup()
  try {
    // The upstream runs in its own process, as a provider does on its own machine: in this
    // process it would take the proxy's CPU and halve the proxied figure by itself.
    const upstream = spawn(process.execPath, ['-e', UPSTREAM_SOURCE, ITEM, String(BIG_BYTES)], { stdio: ['ignore', 'pipe', 'inherit'] })
    cleanup.teardown(() => void upstream.kill())
    const [line] = (await once(upstream.stdout, 'data')) as [Buffer]
    const upstreamPort = Number(String(line).trim())

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

    const client = startLoadClient()
    cleanup.teardown(() => client.close())
    const direct = (concurrency: number, maxMs: number) => client.run({ port: upstreamPort, requests: [{ path: '/api/item' }], cycle: true, concurrency, maxMs, maxRequests: 1_000_000 })
    const proxied = (concurrency: number, maxMs: number) =>
      client.run({ port: proxyPort, requests: [{ path: '/proxy/bench/item', authorization }], cycle: true, concurrency, maxMs, maxRequests: 1_000_000 })

    // The floor for any proxy: a bare node:http pass-through (no auth, no audit, no token) in
    // this process, over the same kept-alive sockets to the same upstream.
    const passAgent = new Agent({ keepAlive: true, maxSockets: 64 })
    const passThrough = createServer((req, res) => {
      const up = request({ host: '127.0.0.1', port: upstreamPort, path: `/api${(req.url ?? '').slice('/pass'.length)}`, method: req.method, agent: passAgent }, (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers)
        answer.pipe(res)
      })
      up.on('error', () => res.destroy())
      req.pipe(up)
    })
    await new Promise<void>((resolve) => passThrough.listen(0, '127.0.0.1', resolve))
    cleanup.teardown(() => new Promise<void>((resolve) => passThrough.close(() => resolve())))
    const pass = (concurrency: number, maxMs: number) => client.run({ port: portOf(passThrough), requests: [{ path: '/pass/item' }], cycle: true, concurrency, maxMs, maxRequests: 1_000_000 })
    await direct(16, 1_000)
    await pass(16, 1_000)
    await proxied(16, 1_000)
    const lat = { direct: [] as LoadResult[], proxied: [] as LoadResult[] }
    const tput = { direct: [] as LoadResult[], proxied: [] as LoadResult[], pass: [] as LoadResult[] }
    for (let round = 0; round < ROUNDS; round++) {
      lat.direct.push(await direct(1, ROUND_MS))
      lat.proxied.push(await proxied(1, ROUND_MS))
      tput.direct.push(await direct(16, ROUND_MS))
      tput.proxied.push(await proxied(16, ROUND_MS))
      tput.pass.push(await pass(16, ROUND_MS))
    }
    const bad = [...lat.proxied, ...tput.proxied].reduce((n, r) => n + r.errors + Object.entries(r.statuses).filter(([s]) => s !== '200').reduce((m, [, c]) => m + c, 0), 0)
    const m = (rs: LoadResult[], k: 'p50' | 'p99' | 'rps') => median(rs.map((r) => r[k]))
    console.log(`  ${ROUNDS} alternating rounds of ${ROUND_MS / 1000} s, keep-alive; latency at concurrency 1, requests per second at 16`)
    console.log(
      table(
        ['', 'p50 ms (c=1)', 'p99 ms (c=1)', 'rps (c=16)', 'rps per round'],
        [
          ['direct GET (baseline)', fixed(m(lat.direct, 'p50'), 3), fixed(m(lat.direct, 'p99'), 3), whole(m(tput.direct, 'rps')), tput.direct.map((r) => whole(r.rps)).join(' / ')],
          ['bare node:http pass-through (floor)', '', '', whole(m(tput.pass, 'rps')), tput.pass.map((r) => whole(r.rps)).join(' / ')],
          ['GET through /proxy', fixed(m(lat.proxied, 'p50'), 3), fixed(m(lat.proxied, 'p99'), 3), whole(m(tput.proxied, 'rps')), tput.proxied.map((r) => whole(r.rps)).join(' / ')],
        ],
      ),
    )
    if (bad) console.log(`  (${bad} proxied requests did not answer 200)`)
    const addedP50 = m(lat.proxied, 'p50') - m(lat.direct, 'p50')
    const addedP99 = m(lat.proxied, 'p99') - m(lat.direct, 'p99')
    const ratio = m(tput.proxied, 'rps') / m(tput.direct, 'rps')
    console.log(`  added by the proxy: p50 ${fixed(addedP50, 3)} ms, p99 ${fixed(addedP99, 3)} ms`)
    console.log(goal('added p50 latency', `${fixed(addedP50, 3)} ms`, '≤ 1 ms', addedP50 <= 1))
    console.log(`  a bare pass-through proxy reaches ${fixed(m(tput.pass, 'rps') / m(tput.direct, 'rps'), 2)} of direct; /proxy reaches ${fixed(m(tput.proxied, 'rps') / m(tput.pass, 'rps'), 2)} of that`)
    console.log(goal('proxied rps / direct rps', fixed(ratio, 2), '≥ 0.5', ratio >= 0.5))

    const big = { direct: [] as number[], proxied: [] as number[] }
    for (let i = 0; i < BIG_RUNS; i++) {
      big.direct.push(await download(upstreamPort, '/api/big'))
      big.proxied.push(await download(proxyPort, '/proxy/bench/big', authorization))
    }
    console.log(
      table(
        ['10 MB response', 'MB/s (median)', 'runs'],
        [
          ['direct (baseline)', fixed(median(big.direct), 0), big.direct.map((v) => fixed(v, 0)).join(' / ')],
          ['through /proxy', fixed(median(big.proxied), 0), big.proxied.map((v) => fixed(v, 0)).join(' / ')],
        ],
      ),
    )
    console.log(`  streamed throughput ratio: ${fixed(median(big.proxied) / median(big.direct), 2)} (no goal set; streamed, never buffered)`)
  } finally {
    await cleanup.run()
  }
}
