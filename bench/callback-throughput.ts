// Requests per second for GET /oauth/callback, beside a bare Fastify route in the same run.
//
// (a) unknown state: a well-formed 43-character state that matches no flow (400 page, nothing
//     stored); (b) real insert: every request carries a fresh flow's state and its cookie, so
//     each one consumes the flow and stores the code in oauth_pending in one transaction (200).
// The latchkey app is the real buildServer() (network guard, rate limit set out of reach, info
// logging into a discarding stream, callbackWaitMs 0 so the page does not wait for an exchange;
// no scheduler runs, so nothing is exchanged). The bare app is Fastify with one GET route on the
// same path and no logger, hit with exactly the same requests; for (b) also one doing the same
// one-row INSERT (the goal's reference), and one doing the callback's own SQL on a copy of
// latchkey's database (no goal: it shows how much of the gap is SQLite's and how much the rest).
// All listen on 127.0.0.1:0; the client is one worker thread with keep-alive sockets and a fixed
// concurrency.
import Fastify from 'fastify'
import type { AddressInfo } from 'node:net'
import { loadavg } from 'node:os'
import { Writable } from 'node:stream'
import { join } from 'node:path'
import { createDeps } from '../src/deps.js'
import { openDb } from '../src/db/open.js'
import { buildServer } from '../src/http/server.js'
import { createLogger } from '../src/log.js'
import { stateCookieName } from '../src/oauth/callback.js'
import { startFlow } from '../src/oauth/flow.js'
import { randomToken } from '../src/oauth/random.js'
import { tempDir, testConfig } from '../test/support/deps.js'
import { startLoadClient, type LoadClient, type LoadRequest, type LoadResult } from './load.js'
import { Cleanup, fixed, goal, mainThreadCpuMs, median, table, whole } from './support.js'

const CONCURRENCY = 16
const ROUNDS = 5
const ROUND_MS = 2_000
/** Caps a round that reuses its request list (a bare app, an unknown state): time decides first. */
const ROUND_MAX_REPEATED = 500_000
/** Fresh flows per insert round: more than the 2 s can use on a small machine, so time decides. */
const ROUND_MAX_INSERTS = 8_000
const WARMUP_MS = 1_000
const WARMUP_MAX_REQUESTS = 3_000
const API_TOKEN = 'bench-api-token-0123456789abcdef-0123456789'

/** A round's figures, and the servers' thread's CPU time per response in it. */
type Round = LoadResult & { cpuUs: number }

interface Pair {
  bare: Round[]
  bareInsert: Round[]
  bareSameSql: Round[]
  latchkey: Round[]
}

function portOf(server: { address(): AddressInfo | string | null }): number {
  return (server.address() as AddressInfo).port
}

function statusSummary(results: LoadResult[]): string {
  const counts: Record<string, number> = {}
  let errors = 0
  for (const r of results) {
    for (const [status, n] of Object.entries(r.statuses)) counts[status] = (counts[status] ?? 0) + n
    errors += r.errors
  }
  const parts = Object.entries(counts).map(([status, n]) => `${status}×${whole(n)}`)
  if (errors) parts.push(`errors×${errors} (${results.find((r) => r.firstError)?.firstError})`)
  return parts.join(' ')
}

export async function callbackThroughput(): Promise<void> {
  const cleanup = new Cleanup()
  try {
    const config = testConfig(cleanup, {
      publicUrl: 'http://127.0.0.1:8400',
      logLevel: 'info',
      apiToken: API_TOKEN,
      providers: {
        bench: {
          displayName: 'Bench',
          authorizationUrl: 'https://as.example/authorize',
          tokenUrl: 'https://as.example/token',
          clientId: 'bench-client',
          clientSecret: 'bench-secret',
          scopes: ['offline_access'],
          usePkce: true,
        },
      },
    })
    let logLines = 0
    const sink = new Writable({
      write(_chunk, _enc, cb) {
        logLines++
        cb()
      },
    })
    const deps = createDeps(config, { log: createLogger('info', sink) })
    cleanup.teardown(() => deps.db.close())

    const app = await buildServer(deps, { apiToken: API_TOKEN, callbackWaitMs: 0, rateLimitPerMinute: 1_000_000_000 })
    cleanup.teardown(() => app.close())
    await app.listen({ host: '127.0.0.1', port: 0 })
    const bare = Fastify()
    bare.get('/oauth/callback', async () => 'ok')
    cleanup.teardown(() => bare.close())
    await bare.listen({ host: '127.0.0.1', port: 0 })
    // The insert baseline: a bare route storing the same one row (code, state, time) in a SQLite
    // file opened as latchkey opens its own (WAL, synchronous NORMAL, secure_delete).
    const bareDb = openDb(join(tempDir(cleanup, 'latchkey-bench-'), 'bare.db'))
    cleanup.teardown(() => bareDb.close())
    bareDb.exec('CREATE TABLE pending (state TEXT PRIMARY KEY, code TEXT NOT NULL, received_at INTEGER NOT NULL)')
    const insertRow = bareDb.prepare('INSERT OR REPLACE INTO pending (state, code, received_at) VALUES (?, ?, ?)')
    const bareInsert = Fastify()
    bareInsert.get<{ Querystring: { code: string; state: string } }>('/oauth/callback', async (request) => {
      insertRow.run(request.query.state, request.query.code, Date.now())
      return 'ok'
    })
    cleanup.teardown(() => bareInsert.close())
    await bareInsert.listen({ host: '127.0.0.1', port: 0 })
    const latchkeyPort = portOf(app.server)
    const barePort = portOf(bare.server)
    const bareInsertPort = portOf(bareInsert.server)

    // (a) one well-formed state that matches nothing.
    const unknown: LoadRequest[] = [{ path: `/oauth/callback?code=${randomToken()}&state=${randomToken()}` }]

    // (b) fresh flows, created up front in one transaction, each with its own cookie.
    const needed = WARMUP_MAX_REQUESTS + ROUNDS * ROUND_MAX_INSERTS
    const t0 = performance.now()
    const fresh: LoadRequest[] = deps.db.transaction(() =>
      Array.from({ length: needed }, () => {
        const { state } = startFlow(deps, { provider: 'bench' })
        return { path: `/oauth/callback?code=${randomToken()}&state=${state}`, cookie: `${stateCookieName(state, false)}=${state}` }
      }),
    )()
    const createMs = performance.now() - t0

    // A second reference for the insert: a bare route doing the callback's own SQL (read the flow
    // by state; then, in one IMMEDIATE transaction, the compare-and-set UPDATE and the code's
    // INSERT) on an identical copy of latchkey's database, flows included. What separates latchkey
    // from it is everything but SQLite: Fastify's hooks, the checks, the page, the log line.
    const copyFile = join(tempDir(cleanup, 'latchkey-bench-'), 'copy.db')
    deps.db.prepare('VACUUM INTO ?').run(copyFile)
    const copyDb = openDb(copyFile)
    cleanup.teardown(() => copyDb.close())
    const readFlow = copyDb.prepare('SELECT * FROM oauth_flows WHERE state = ?')
    const consume = copyDb.prepare(`UPDATE oauth_flows SET status = 'exchanging', callback_at = ? WHERE state = ? AND status = 'waiting' AND expires_at > ?`)
    const storeCode = copyDb.prepare('INSERT INTO oauth_pending (state, code, received_at) VALUES (?, ?, ?)')
    const sameSql = copyDb.transaction((state: string, code: string, now: number) => {
      if (consume.run(now, state, now).changes === 1) storeCode.run(state, code, now)
    })
    const bareSameSql = Fastify()
    bareSameSql.get<{ Querystring: { code: string; state: string } }>('/oauth/callback', async (request) => {
      const now = Date.now()
      if (readFlow.get(request.query.state)) sameSql.immediate(request.query.state, request.query.code, now)
      return 'ok'
    })
    cleanup.teardown(() => bareSameSql.close())
    await bareSameSql.listen({ host: '127.0.0.1', port: 0 })
    const bareSameSqlPort = portOf(bareSameSql.server)

    const client: LoadClient = startLoadClient()
    cleanup.teardown(() => client.close())
    // Every app under test answers on this (the main) thread; the client is another thread.
    const load = async (port: number, requests: LoadRequest[], cycle: boolean, maxMs: number, maxRequests: number): Promise<Round> => {
      const cpu0 = mainThreadCpuMs()
      const result = await client.run({ port, requests, cycle, concurrency: CONCURRENCY, maxMs, maxRequests })
      return { ...result, cpuUs: ((mainThreadCpuMs() - cpu0) * 1000) / Math.max(1, result.count) }
    }

    // Warm-up: both apps, both request kinds (the insert warm-up spends its own flows).
    let offset = 0
    await load(barePort, unknown, true, WARMUP_MS, WARMUP_MAX_REQUESTS)
    await load(latchkeyPort, unknown, true, WARMUP_MS, WARMUP_MAX_REQUESTS)
    const warm = await load(latchkeyPort, fresh.slice(0, WARMUP_MAX_REQUESTS), false, WARMUP_MS, WARMUP_MAX_REQUESTS)
    offset += warm.count + warm.errors

    const a: Pair = { bare: [], bareInsert: [], bareSameSql: [], latchkey: [] }
    const b: Pair = { bare: [], bareInsert: [], bareSameSql: [], latchkey: [] }
    await load(bareInsertPort, fresh.slice(0, WARMUP_MAX_REQUESTS), true, WARMUP_MS, WARMUP_MAX_REQUESTS)
    // The copy's flows are spent as latchkey's are, each once, from its own offset.
    const warmCopy = await load(bareSameSqlPort, fresh.slice(0, WARMUP_MAX_REQUESTS), false, WARMUP_MS, WARMUP_MAX_REQUESTS)
    let copyOffset = warmCopy.count + warmCopy.errors
    for (let round = 0; round < ROUNDS; round++) {
      a.bare.push(await load(barePort, unknown, true, ROUND_MS, ROUND_MAX_REPEATED))
      a.latchkey.push(await load(latchkeyPort, unknown, true, ROUND_MS, ROUND_MAX_REPEATED))
      const slice = fresh.slice(offset, offset + ROUND_MAX_INSERTS)
      // The bare apps spend no flow, so they may go round the same fresh requests again.
      b.bare.push(await load(barePort, slice, true, ROUND_MS, ROUND_MAX_REPEATED))
      b.bareInsert.push(await load(bareInsertPort, slice, true, ROUND_MS, ROUND_MAX_REPEATED))
      const copied = await load(bareSameSqlPort, fresh.slice(copyOffset, copyOffset + ROUND_MAX_INSERTS), false, ROUND_MS, ROUND_MAX_INSERTS)
      b.bareSameSql.push(copied)
      copyOffset += copied.count + copied.errors
      const inserted = await load(latchkeyPort, slice, false, ROUND_MS, ROUND_MAX_INSERTS)
      b.latchkey.push(inserted)
      offset += inserted.count + inserted.errors
    }
    const stored = (deps.db.prepare('SELECT count(*) AS n FROM oauth_pending').get() as { n: number }).n

    const rows: string[][] = []
    const cpu = (results: Round[]) => median(results.map((r) => r.cpuUs))
    const add = (label: string, results: Round[], ratioTo?: Round[]) => {
      const rps = median(results.map((r) => r.rps))
      const ratio = ratioTo ? fixed(rps / median(ratioTo.map((r) => r.rps)), 2) : ''
      rows.push([
        label,
        whole(rps),
        results.map((r) => whole(r.rps)).join(' / '),
        fixed(median(results.map((r) => r.p50)), 2),
        fixed(median(results.map((r) => r.p99)), 2),
        ratio,
        whole(cpu(results)),
        ratioTo ? fixed(cpu(ratioTo) / cpu(results), 2) : '',
        statusSummary(results),
      ])
    }
    add('bare fastify GET (same URL)', a.bare)
    add('latchkey callback, unknown state', a.latchkey, a.bare)
    add('bare fastify GET (same URLs+cookies)', b.bare)
    add('bare fastify GET + the same one-row INSERT', b.bareInsert)
    add('latchkey callback, real insert', b.latchkey, b.bareInsert)
    add('bare fastify GET + the callback\'s own SQL (copy of its db)', b.bareSameSql)
    add('latchkey callback, real insert (vs the line above)', b.latchkey, b.bareSameSql)

    console.log(
      `  concurrency ${CONCURRENCY}, keep-alive, ${ROUNDS} alternating rounds of ${ROUND_MS / 1000} s each (insert rounds also stop at ${whole(ROUND_MAX_INSERTS)} fresh flows), after a warm-up`,
    )
    console.log(`  (client in a worker thread of the same process; server on 127.0.0.1:0)`)
    console.log(table(['', 'rps (median)', 'rps per round', 'p50 ms', 'p99 ms', 'ratio', 'CPU µs/req', 'CPU ratio', 'responses'], rows))
    console.log(`  ratio = latchkey rps / bare rps (medians of the rounds); the insert is compared with the bare route doing the same INSERT`)
    console.log(
      `  CPU µs/req = the servers' thread's CPU time per response (median of the rounds); CPU ratio = bare / latchkey, the rps ratio a`,
    )
    console.log(`  CPU-bound server would reach whatever else runs on the machine (it leaves out time blocked in fsync) — load now ${loadavg()[0]?.toFixed(1)}`)
    console.log(
      `  ${whole(needed)} flows created up front in ${fixed(createMs, 0)} ms; oauth_pending rows after the run: ${whole(stored)}; log lines written: ${whole(logLines)}`,
    )
    const rps = (results: Round[]) => median(results.map((r) => r.rps))
    const insertRatio = rps(b.latchkey) / rps(b.bareInsert)
    const unknownRatio = rps(a.latchkey) / rps(a.bare)
    console.log(goal('callback with a real insert / bare route with the same INSERT', `${fixed(insertRatio, 2)}×`, '≥ 0.8×', insertRatio >= 0.8))
    console.log(goal('callback, unknown state / bare route', `${fixed(unknownRatio, 2)}×`, '≥ 0.6×', unknownRatio >= 0.6))
  } finally {
    await cleanup.run()
  }
}
