// getAccessToken on a fresh token inside one process, beside the floor of a lock-free read in
// the same run. The subject is `new TokenSource(deps).getAccessToken('acme')` with real deps
// (createDeps on a parsed config: a real SQLite file, a real auth.json in a temp dir holding a
// token valid for an hour, so no refresh and no lock is ever taken). The baseline is a bare
// `fs.promises.readFile` + `JSON.parse` of the same auth.json. Latency: sequential calls, each
// timed; throughput: a fixed number of callers looping with their own call in flight.
import { mkdirSync, promises as fs, writeFileSync } from 'node:fs'
import { dirname } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { createDeps } from '../src/deps.js'
import { createLogger } from '../src/log.js'
import { TokenSource } from '../src/oauth/refresh.js'
import { RACY_MARGIN_MS } from '../src/store/auth-read-cache.js'
import { testConfig } from '../test/support/deps.js'
import { Cleanup, fixed, goal, percentile, table, whole } from './support.js'

const WARMUP_MS = 300
const SEQUENTIAL_MS = 1_500
const SEQUENTIAL_MAX_CALLS = 50_000
const CONCURRENCY = 32
const CONCURRENT_MS = 1_000
/** Each phase is cut into this many blocks per contender, alternated. */
const BLOCKS = 6
const ACCESS = 'bench-access-token-0123456789abcdef'

interface Figures {
  calls: number
  perSecond: number
  p50Us: number
  p99Us: number
  concurrentPerSecond: number
  wrong: number
}

/** One contender's running totals, filled block by block. */
class Tally {
  readonly latencies = new Float64Array(SEQUENTIAL_MAX_CALLS)
  calls = 0
  sequentialMs = 0
  concurrentCalls = 0
  concurrentMs = 0
  wrong = 0
  readonly call: () => Promise<string>

  constructor(call: () => Promise<string>) {
    this.call = call
  }

  async check(): Promise<void> {
    if ((await this.call()) !== ACCESS) this.wrong++
  }

  /** Sequential calls for `ms`, each timed. */
  async sequential(ms: number): Promise<void> {
    const t0 = performance.now()
    const end = t0 + ms
    let now = t0
    while (now < end && this.calls < SEQUENTIAL_MAX_CALLS) {
      const start = now
      await this.check()
      now = performance.now()
      this.latencies[this.calls++] = (now - start) * 1000
    }
    this.sequentialMs += now - t0
  }

  /** CONCURRENCY callers looping for `ms`. */
  async concurrent(ms: number): Promise<void> {
    const t0 = performance.now()
    const stopAt = t0 + ms
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        while (performance.now() < stopAt) {
          await this.check()
          this.concurrentCalls++
        }
      }),
    )
    this.concurrentMs += performance.now() - t0
  }

  figures(): Figures {
    const sorted = this.latencies.subarray(0, this.calls).sort()
    return {
      calls: this.calls,
      perSecond: (this.calls / this.sequentialMs) * 1000,
      p50Us: percentile(sorted, 50),
      p99Us: percentile(sorted, 99),
      concurrentPerSecond: (this.concurrentCalls / this.concurrentMs) * 1000,
      wrong: this.wrong,
    }
  }
}

/**
 * Both contenders in alternating blocks (ABBA order), so that warm-up, CPU frequency and GC
 * drift fall on both alike: WARMUP_MS each, then SEQUENTIAL_MS each, then CONCURRENT_MS each.
 */
async function measure(a: Tally, b: Tally): Promise<void> {
  await a.sequential(WARMUP_MS)
  await b.sequential(WARMUP_MS)
  a.calls = b.calls = a.sequentialMs = b.sequentialMs = 0
  for (let i = 0; i < BLOCKS; i++) {
    const [x, y] = i % 2 ? [b, a] : [a, b]
    await x.sequential(SEQUENTIAL_MS / BLOCKS)
    await y.sequential(SEQUENTIAL_MS / BLOCKS)
  }
  for (let i = 0; i < BLOCKS; i++) {
    const [x, y] = i % 2 ? [b, a] : [a, b]
    await x.concurrent(CONCURRENT_MS / BLOCKS)
    await y.concurrent(CONCURRENT_MS / BLOCKS)
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
    // Steady state: the cache trusts an unchanged stat only for a file older than its margin
    // (a file written less than RACY_MARGIN_MS ago is read on every call).
    await sleep(RACY_MARGIN_MS + 100)

    const deps = createDeps(config, { log: createLogger('warn', process.stderr) })
    cleanup.teardown(() => deps.db.close())
    const source = new TokenSource(deps)
    const path = config.authFile

    const bareTally = new Tally(async () => (JSON.parse(await fs.readFile(path, 'utf8')) as typeof auth).acme.access)
    const subjectTally = new Tally(() => source.getAccessToken('acme'))
    await measure(subjectTally, bareTally)
    const bare = bareTally.figures()
    const subject = subjectTally.figures()

    const row = (label: string, f: Figures) => [label, whole(f.perSecond), fixed(f.p50Us), fixed(f.p99Us), whole(f.concurrentPerSecond)]
    console.log(
      `  fresh token (valid 1 h), auth.json written ${fixed(RACY_MARGIN_MS / 1000)} s before the first call; per contender ${WARMUP_MS} ms warm-up, ${fixed(SEQUENTIAL_MS / 1000)} s of sequential calls each timed, ` +
        `then ${CONCURRENCY} callers looping for ${fixed(CONCURRENT_MS / 1000)} s, in ${BLOCKS} alternating blocks; auth.json ${(await fs.stat(path)).size} bytes, real SQLite file`,
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
    console.log(goal('getAccessToken p99', `${fixed(subject.p99Us)} µs`, '≤ 50 µs', !subject.wrong && subject.p99Us <= 50))
    console.log(goal('getAccessToken sequential', `${whole(subject.perSecond)} calls/s`, '≥ 100,000 calls/s', !subject.wrong && subject.perSecond >= 100_000))
    if (subject.wrong || bare.wrong) console.log(`  !!! WRONG TOKENS RETURNED: getAccessToken ${subject.wrong}, floor ${bare.wrong} !!!`)
  } finally {
    await cleanup.run()
  }
}
