// 1,000 concurrent getAccessToken callers across one refresh. auth.json holds an expired token;
// a loopback token endpoint (fakeServer: node:http on 127.0.0.1:0) holds each answer 50 ms and
// mints a new access token per request, so a second refresh would show as a second request and
// a second distinct token. Per round the file is reset to a new expired token, then all callers
// fire at once and the clock stops when every one has settled.
//
// (a) one TokenSource, 1,000 callers: the in-process shared refresh.
// (b) 4 TokenSources, each on its own deps (its own SQLite connection), 250 callers each: one
//     source wins the auth lock (a SQLite write transaction beside auth.json) and refreshes; the
//     others wait for the lock, re-read the file and take the new token.
// Baselines in the same run: one caller across one refresh (same setup), and a bare POST to
// the endpoint with got (the 50 ms hold plus loopback HTTP).
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { dirname } from 'node:path'
import { createDeps, createHttpClient, type Deps } from '../src/deps.js'
import { createLogger } from '../src/log.js'
import { TokenSource } from '../src/oauth/refresh.js'
import { fakeServer, testConfig } from '../test/support/deps.js'
import { Cleanup, fixed, median, table, whole, withTimeout } from './support.js'

const HOLD_MS = 50
const CALLERS = 1_000
const SOURCES = 4
const WARMUP_ROUNDS = 1
const ROUNDS = 5
const ROUND_TIMEOUT_MS = 10_000

interface Round {
  ms: number
  requests: number
  distinct: number
  rejected: number
  /** Every fulfilled caller got the token now in auth.json. */
  matchesFile: boolean
  firstError?: string
}

interface Scenario {
  label: string
  callers: number
  rounds: Round[]
}

export async function tokenRefreshHerd(): Promise<void> {
  const cleanup = new Cleanup()
  try {
    let minted = 0
    const as = await fakeServer(cleanup, (req) => {
      if (req.form.grant_type !== 'refresh_token') return { status: 400, json: { error: 'unsupported_grant_type' } }
      minted++
      return {
        json: { access_token: `bench-at-${minted}`, refresh_token: `bench-rt-${minted}`, expires_in: 3600, token_type: 'Bearer' },
        delayMs: HOLD_MS,
      }
    })
    const config = testConfig(cleanup, {
      logLevel: 'warn',
      providers: {
        acme: {
          displayName: 'Acme',
          authorizationUrl: `${as.url}/authorize`,
          tokenUrl: `${as.url}/token`,
          clientId: 'bench-client',
          clientSecret: 'bench-secret',
          clientAuth: 'basic',
          scopes: ['offline_access'],
        },
      },
    })
    mkdirSync(dirname(config.authFile), { recursive: true, mode: 0o700 })
    const log = createLogger('warn', process.stderr)
    const depsList: Deps[] = []
    for (let i = 0; i < SOURCES; i++) {
      const deps = createDeps(config, { log })
      cleanup.teardown(() => deps.db.close())
      depsList.push(deps)
    }
    const [first] = depsList
    if (!first) throw new Error('no deps')

    let generation = 0
    const resetExpired = () => {
      generation++
      const auth = {
        acme: { type: 'oauth', access: `expired-at-${generation}`, refresh: `expired-rt-${generation}`, expires: Date.now() - 1_000, tokenType: 'Bearer' },
        other: { type: 'api', key: 'a key latchkey did not write' },
      }
      writeFileSync(config.authFile, `${JSON.stringify(auth, null, 2)}\n`, { mode: 0o600 })
    }

    /** One round: `perSource[i]` callers on a new TokenSource over depsList[i], all fired at once. */
    const round = async (perSource: number[]): Promise<Round> => {
      resetExpired()
      const before = as.requests.length
      const sources = perSource.map((_n, i) => new TokenSource(depsList[i] ?? first))
      const t0 = performance.now()
      const calls: Promise<string>[] = []
      for (const [i, n] of perSource.entries()) {
        const source = sources[i]
        if (!source) continue
        for (let k = 0; k < n; k++) calls.push(source.getAccessToken('acme'))
      }
      const settled = await withTimeout(Promise.allSettled(calls), ROUND_TIMEOUT_MS, 'refresh round')
      const ms = performance.now() - t0
      const tokens = new Set<string>()
      let rejected = 0
      let firstError: string | undefined
      for (const s of settled) {
        if (s.status === 'fulfilled') tokens.add(s.value)
        else {
          rejected++
          firstError ??= s.reason instanceof Error ? s.reason.message : String(s.reason)
        }
      }
      const stored = (JSON.parse(readFileSync(config.authFile, 'utf8')) as { acme?: { access?: string } }).acme?.access
      return {
        ms,
        requests: as.requests.length - before,
        distinct: tokens.size,
        rejected,
        matchesFile: tokens.size === 1 && tokens.has(stored ?? ''),
        ...(firstError !== undefined ? { firstError } : {}),
      }
    }

    const scenarios: Scenario[] = [
      { label: '1 caller, 1 TokenSource (baseline)', callers: 1, rounds: [] },
      { label: `${whole(CALLERS)} callers, 1 TokenSource`, callers: CALLERS, rounds: [] },
      { label: `${whole(CALLERS)} callers, ${SOURCES} TokenSources × ${CALLERS / SOURCES}`, callers: CALLERS, rounds: [] },
    ]
    const shapes = [[1], [CALLERS], Array.from({ length: SOURCES }, () => CALLERS / SOURCES)]
    // Interleaved, so drift in the machine's state spreads over every scenario alike.
    for (let r = 0; r < WARMUP_ROUNDS + ROUNDS; r++) {
      for (const [i, scenario] of scenarios.entries()) {
        const result = await round(shapes[i] ?? [1])
        if (r >= WARMUP_ROUNDS) scenario.rounds.push(result)
      }
    }

    // The endpoint alone: one POST with got, as fetchToken sends it (hold included).
    const http = createHttpClient()
    const bare: number[] = []
    for (let r = 0; r < WARMUP_ROUNDS + ROUNDS; r++) {
      const t0 = performance.now()
      await http.post(`${as.url}/token`, { form: { grant_type: 'refresh_token', refresh_token: 'bare' }, throwHttpErrors: false, retry: { limit: 0 } })
      if (r >= WARMUP_ROUNDS) bare.push(performance.now() - t0)
    }

    const baselineMs = median(scenarios[0]?.rounds.map((x) => x.ms) ?? [])
    const rows = scenarios.map((s) => {
      const times = s.rounds.map((x) => x.ms)
      const requests = s.rounds.map((x) => x.requests)
      return [
        s.label,
        requests.join(','),
        s.rounds.map((x) => x.distinct).join(','),
        s.rounds.map((x) => x.rejected).join(','),
        fixed(median(times)),
        fixed(Math.max(...times)),
        `${fixed(median(times) / baselineMs, 2)}×`,
      ]
    })
    rows.push(['bare POST to the endpoint (got)', '-', '-', '-', fixed(median(bare)), fixed(Math.max(...bare)), `${fixed(median(bare) / baselineMs, 2)}×`])
    console.log(`  token endpoint on loopback holds each answer ${HOLD_MS} ms; ${ROUNDS} rounds per scenario after ${WARMUP_ROUNDS} warm-up, interleaved; per-round figures listed`)
    console.log(
      table(['', 'token requests', 'distinct tokens', 'rejected', 'all settled ms (median)', 'max', 'vs 1 caller'], rows),
    )

    const bad = scenarios.flatMap((s) =>
      s.rounds
        .map((x, i) => ({ x, i }))
        .filter(({ x }) => x.requests !== 1 || x.distinct !== 1 || x.rejected !== 0 || !x.matchesFile)
        .map(({ x, i }) => `${s.label}, round ${i + 1}: ${x.requests} token requests, ${x.distinct} distinct tokens, ${x.rejected} rejected${x.firstError ? ` (${x.firstError})` : ''}${x.matchesFile ? '' : ', callers did not all get the stored token'}`),
    )
    if (bad.length) {
      console.log(`  !!! EXPECTED EXACTLY 1 TOKEN REQUEST AND 1 TOKEN PER ROUND: ${bad.length} round(s) did not !!!`)
      for (const b of bad) console.log(`  !!! ${b}`)
    } else console.log('  every round: exactly 1 token request, every caller got the one new token, which is the one stored in auth.json')
  } finally {
    await cleanup.run()
  }
}
