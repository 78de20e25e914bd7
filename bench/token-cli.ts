// `latchkey token acme` wall time as a whole process, the way scripts call it: the compiled CLI
// (`node dist/src/cli/bin.js token acme`) with LATCHKEY_CONFIG pointing at a temp config and a
// token valid for an hour in auth.json, so no refresh happens (the loopback token endpoint
// counts requests to show it). Baseline in the same run: `node -e 0`, the floor of any Node
// CLI. The two are interleaved; the clock runs from spawn to the child's exit and closed pipes.
import { spawn } from 'node:child_process'
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { BIN } from '../test/support/child-daemon.js'
import { fakeServer, tempDir } from '../test/support/deps.js'
import { Cleanup, fixed, goal, median, percentile, table, withTimeout } from './support.js'

const RUNS = 20
const WARMUP_RUNS = 2
const RUN_TIMEOUT_MS = 10_000
const ACCESS = 'bench-cli-access-token-0123456789abcdef'

interface Run {
  ms: number
  code: number | null
  stdout: string
  stderr: string
}

async function timed(args: string[], env: NodeJS.ProcessEnv): Promise<Run> {
  const t0 = performance.now()
  const proc = spawn(process.execPath, args, { env, stdio: ['ignore', 'pipe', 'pipe'] })
  let stdout = ''
  let stderr = ''
  proc.stdout.on('data', (c) => (stdout += c))
  proc.stderr.on('data', (c) => (stderr += c))
  const code = await withTimeout(
    new Promise<number | null>((resolve, reject) => {
      proc.once('error', reject)
      proc.once('close', (c) => resolve(c))
    }),
    RUN_TIMEOUT_MS,
    `node ${args.join(' ')}`,
  ).catch((err: unknown) => {
    proc.kill('SIGKILL')
    throw err
  })
  return { ms: performance.now() - t0, code, stdout, stderr }
}

export async function tokenCli(): Promise<void> {
  const cleanup = new Cleanup()
  try {
    const as = await fakeServer(cleanup, () => ({ status: 400, json: { error: 'invalid_grant' } }))
    const dir = tempDir(cleanup, 'latchkey-bench-')
    mkdirSync(join(dir, 'home'))
    mkdirSync(join(dir, 'agent'), { mode: 0o700 })
    const authFile = join(dir, 'agent', 'auth.json')
    const configPath = join(dir, 'config.json')
    writeFileSync(
      configPath,
      JSON.stringify({
        dataDir: join(dir, 'data'),
        authFile,
        logLevel: 'warn',
        providers: {
          acme: { displayName: 'Acme', authorizationUrl: `${as.url}/authorize`, tokenUrl: `${as.url}/token`, clientId: 'bench-client', clientSecret: 'bench-secret', scopes: [] },
        },
      }),
    )
    writeFileSync(
      authFile,
      `${JSON.stringify({ acme: { type: 'oauth', access: ACCESS, refresh: 'bench-cli-refresh', expires: Date.now() + 3_600_000, tokenType: 'Bearer' } }, null, 2)}\n`,
      { mode: 0o600 },
    )
    const env = { ...process.env, LATCHKEY_CONFIG: configPath, HOME: join(dir, 'home') }

    const token: number[] = []
    const floor: number[] = []
    const failures: string[] = []
    for (let i = 0; i < WARMUP_RUNS + RUNS; i++) {
      const bare = await timed(['-e', '0'], env)
      const cli = await timed([BIN, 'token', 'acme'], env)
      if (cli.code !== 0 || cli.stdout !== `${ACCESS}\n`)
        failures.push(`exit ${cli.code}, stdout ${JSON.stringify(cli.stdout.slice(0, 80))}, stderr ${JSON.stringify(cli.stderr.slice(0, 300))}`)
      if (i < WARMUP_RUNS) continue
      floor.push(bare.ms)
      token.push(cli.ms)
    }

    const row = (label: string, values: number[]) => {
      const sorted = [...values].sort((a, b) => a - b)
      return [label, fixed(median(sorted)), fixed(percentile(sorted, 95)), fixed(sorted[0] ?? Number.NaN), fixed(sorted[sorted.length - 1] ?? Number.NaN)]
    }
    const sortedToken = [...token].sort((a, b) => a - b)
    const sortedFloor = [...floor].sort((a, b) => a - b)
    console.log(`  ${RUNS} runs each after ${WARMUP_RUNS} warm-up, interleaved; fresh token (valid 1 h), compiled CLI, ${process.execPath} ${process.version}`)
    console.log(
      table(
        ['ms', 'median', 'p95', 'min', 'max'],
        [
          row('latchkey token acme', token),
          row('node -e 0 (floor)', floor),
          [
            'ratio (token / floor)',
            `${fixed(median(sortedToken) / median(sortedFloor), 2)}×`,
            `${fixed(percentile(sortedToken, 95) / percentile(sortedFloor, 95), 2)}×`,
            '',
            '',
          ],
          ['difference (token − floor)', fixed(median(sortedToken) - median(sortedFloor)), fixed(percentile(sortedToken, 95) - percentile(sortedFloor, 95)), '', ''],
        ],
      ),
    )
    const ratio = median(sortedToken) / median(sortedFloor)
    console.log(goal('latchkey token / node -e 0, median', `${fixed(ratio, 2)}×`, '≤ 1.5×', failures.length === 0 && ratio <= 1.5))
    console.log(`  token printed correctly: ${WARMUP_RUNS + RUNS - failures.length}/${WARMUP_RUNS + RUNS} runs; token requests at the endpoint: ${as.requests.length} (expected 0)`)
    for (const f of [...new Set(failures)].slice(0, 3)) console.log(`  !!! failure: ${f}`)
  } finally {
    await cleanup.run()
  }
}
