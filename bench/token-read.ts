// getAccessToken on a fresh token inside one process, beside the floor of a lock-free read in
// the same run. The subject is `new TokenSource(deps).getAccessToken('acme')` with real deps
// (createDeps on a parsed config: a real SQLite file, a real auth.json in a temp dir holding a
// token valid for an hour, so no refresh and no lock is ever taken). The baseline is a bare
// `fs.promises.readFile` + `JSON.parse` of the same auth.json. Latency: sequential calls, each
// timed; throughput: a fixed number of callers looping with their own call in flight.
import { mkdirSync, promises as fs, writeFileSync } from 'node:fs'
import { dirname } from 'node:path'
import { createDeps } from '../src/deps.js'
import { createLogger } from '../src/log.js'
import { TokenSource } from '../src/oauth/refresh.js'
import { testConfig } from '../test/support/deps.js'
import { Cleanup, fixed, percentile, table, whole } from './support.js'

const WARMUP_MS = 300
const SEQUENTIAL_MS = 1_500
const SEQUENTIAL_MAX_CALLS = 50_000
const CONCURRENCY = 32
const CONCURRENT_MS = 1_000
const ACCESS = 'bench-access-token-0123456789abcdef'

interface Figures {
  calls: number
  perSecond: number
  p50Us: number
  p99Us: number
  concurrentPerSecond: number
  wrong: number
}

/** Sequential timed calls, then CONCURRENCY callers for a fixed time; counts answers that are not ACCESS. */
async function measure(call: () => Promise<string>): Promise<Figures> {
  let wrong = 0
  const check = (token: string) => {
    if (token !== ACCESS) wrong++
  }
  const warmupEnd = performance.now() + WARMUP_MS
  while (performance.now() < warmupEnd) check(await call())

  const latencies = new Float64Array(SEQUENTIAL_MAX_CALLS)
  let calls = 0
  const t0 = performance.now()
  const end = t0 + SEQUENTIAL_MS
  let now = t0
  while (now < end && calls < SEQUENTIAL_MAX_CALLS) {
    const start = now
    check(await call())
    now = performance.now()
    latencies[calls++] = (now - start) * 1000
  }
  const elapsed = now - t0
  const sorted = latencies.subarray(0, calls).sort()

  let done = 0
  const c0 = performance.now()
  const stopAt = c0 + CONCURRENT_MS
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (performance.now() < stopAt) {
        check(await call())
        done++
      }
    }),
  )
  const concurrentElapsed = performance.now() - c0

  return {
    calls,
    perSecond: (calls / elapsed) * 1000,
    p50Us: percentile(sorted, 50),
    p99Us: percentile(sorted, 99),
    concurrentPerSecond: (done / concurrentElapsed) * 1000,
    wrong,
  }
}

export async function tokenRead(): Promise<void> {
  const cleanup = new Cleanup()
  try {
    const config = testConfig(cleanup, {
      logLevel: 'warn',
      providers: {
        acme: {
          displayName: 'Acme',
          authorizationUrl: 'http://127.0.0.1:9/authorize',
          tokenUrl: 'http://127.0.0.1:9/token',
          clientId: 'bench-client',
          clientSecret: 'bench-secret',
          scopes: ['offline_access'],
        },
      },
    })
    mkdirSync(dirname(config.authFile), { recursive: true, mode: 0o700 })
    const auth = {
      acme: { type: 'oauth', access: ACCESS, refresh: 'bench-refresh-token', expires: Date.now() + 3_600_000, scope: 'offline_access', tokenType: 'Bearer' },
      other: { type: 'api', key: 'a key latchkey did not write' },
    }
    writeFileSync(config.authFile, `${JSON.stringify(auth, null, 2)}\n`, { mode: 0o600 })

    const deps = createDeps(config, { log: createLogger('warn', process.stderr) })
    cleanup.teardown(() => deps.db.close())
    const source = new TokenSource(deps)
    const path = config.authFile

    const bare = await measure(async () => (JSON.parse(await fs.readFile(path, 'utf8')) as typeof auth).acme.access)
    const subject = await measure(() => source.getAccessToken('acme'))

    const row = (label: string, f: Figures) => [label, whole(f.perSecond), fixed(f.p50Us), fixed(f.p99Us), whole(f.concurrentPerSecond)]
    console.log(
      `  fresh token (valid 1 h), ${fixed(SEQUENTIAL_MS / 1000)} s of sequential calls each timed, then ${CONCURRENCY} callers looping for ${fixed(CONCURRENT_MS / 1000)} s; ` +
        `${WARMUP_MS} ms warm-up each; auth.json ${(await fs.stat(path)).size} bytes, real SQLite file`,
    )
    console.log(
      table(
        ['', 'sequential calls/s', 'p50 µs', 'p99 µs', `${CONCURRENCY} in flight calls/s`],
        [
          row('TokenSource.getAccessToken', subject),
          row('readFile + JSON.parse (floor)', bare),
          [
            'ratio (getAccessToken / floor)',
            `${fixed(bare.perSecond / subject.perSecond, 2)}× slower`,
            `${fixed(subject.p50Us / bare.p50Us, 2)}×`,
            `${fixed(subject.p99Us / bare.p99Us, 2)}×`,
            `${fixed(bare.concurrentPerSecond / subject.concurrentPerSecond, 2)}× slower`,
          ],
        ],
      ),
    )
    console.log(`  sequential samples: ${whole(subject.calls)} getAccessToken, ${whole(bare.calls)} floor`)
    if (subject.wrong || bare.wrong) console.log(`  !!! WRONG TOKENS RETURNED: getAccessToken ${subject.wrong}, floor ${bare.wrong} !!!`)
  } finally {
    await cleanup.run()
  }
}
