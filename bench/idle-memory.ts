// Resident memory of the idle daemon: the compiled CLI started the way pm2 starts it (node_args
// and env read from ecosystem.config.cjs: `node --enable-source-maps dist/src/cli/bin.js serve`,
// NODE_ENV=production) with a temp config, once with nothing connected and once with Dexcom and
// Oura tokens (their sync workers run at start), next to a bare `node -e` process holding an
// http server, in the same run. Each process answers one request, then sits idle ~3 s; VmRSS is
// then sampled from /proc.
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdirSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { BIN } from '../test/support/child-daemon.js'
import { freePort, tempDir } from '../test/support/deps.js'
import { Cleanup, fixed, goal, median, procStatusKiB, stopChild, table, withTimeout } from './support.js'

/** How pm2 starts the daemon (the one app in ecosystem.config.cjs). */
const PM2_APP = (createRequire(import.meta.url)('../ecosystem.config.cjs') as { apps: { node_args: string; env: Record<string, string> }[] }).apps[0]

const IDLE_MS = 3_000
const SAMPLES = 6
const SAMPLE_EVERY_MS = 250

const BARE_SERVER = `
const http = require('node:http')
const server = http.createServer((req, res) => res.end('ok'))
server.listen(0, '127.0.0.1', () => console.log('port=' + server.address().port))
`

interface Measured {
  rssMiB: number[]
  hwmMiB: number
}

function launch(cleanup: Cleanup, args: string[], env: Record<string, string>): { proc: ChildProcess; output(): string } {
  const proc = spawn(process.execPath, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] })
  cleanup.teardown(() => stopChild(proc))
  let output = ''
  proc.stdout?.on('data', (c) => (output += c))
  proc.stderr?.on('data', (c) => (output += c))
  return { proc, output: () => output }
}

/** Polls `url` until it answers 200, or fails after `ms` (or when the process exits). */
async function waitForHttp(url: string, child: { proc: ChildProcess; output(): string }, ms: number): Promise<void> {
  const deadline = Date.now() + ms
  while (Date.now() < deadline) {
    if (child.proc.exitCode !== null) throw new Error(`process exited early:\n${child.output().slice(-2_000)}`)
    try {
      if ((await fetch(url, { signal: AbortSignal.timeout(1_000) })).ok) return
    } catch {
      // not listening yet
    }
    await sleep(50)
  }
  throw new Error(`${url} did not answer within ${ms} ms:\n${child.output().slice(-2_000)}`)
}

async function idleThenSample(pid: number): Promise<Measured> {
  await sleep(IDLE_MS)
  const rssMiB: number[] = []
  for (let i = 0; i < SAMPLES; i++) {
    if (i) await sleep(SAMPLE_EVERY_MS)
    rssMiB.push(procStatusKiB(pid, 'VmRSS') / 1024)
  }
  return { rssMiB, hwmMiB: procStatusKiB(pid, 'VmHWM') / 1024 }
}

export async function idleMemory(): Promise<void> {
  const cleanup = new Cleanup()
  try {
    if (!PM2_APP) throw new Error('ecosystem.config.cjs has no app')
    const pm2 = PM2_APP
    // The daemon: default settings (info logging) but temp files and a free port; `extra` config
    // and auth.json content on top.
    const measureDaemon = async (extra: Record<string, unknown>, auth?: Record<string, unknown>): Promise<Measured> => {
      const dir = tempDir(cleanup, 'latchkey-bench-')
      mkdirSync(join(dir, 'home'))
      const port = await freePort()
      const configPath = join(dir, 'config.json')
      const authFile = join(dir, 'agent', 'auth.json')
      writeFileSync(configPath, JSON.stringify({ listen: { host: '127.0.0.1', port }, publicUrl: `http://127.0.0.1:${port}`, dataDir: join(dir, 'data'), authFile, ...extra }))
      if (auth) {
        mkdirSync(dirname(authFile), { recursive: true })
        writeFileSync(authFile, JSON.stringify(auth), { mode: 0o600 })
      }
      const daemon = launch(cleanup, [...pm2.node_args.split(' ').filter(Boolean), BIN, 'serve'], { ...pm2.env, LATCHKEY_CONFIG: configPath, HOME: join(dir, 'home') })
      await waitForHttp(`http://127.0.0.1:${port}/healthz`, daemon, 20_000)
      const daemonPid = daemon.proc.pid
      if (daemonPid === undefined) throw new Error('daemon has no pid')
      const measured = await idleThenSample(daemonPid)
      await stopChild(daemon.proc)
      return measured
    }
    const latchkey = await measureDaemon({})
    // Dexcom and Oura connected: refresh-tokens and both syncs run at start, one worker after
    // another (their APIs are a closed loopback port here, so each run fails fast), and the
    // memory those workers left behind stays.
    const closed = `http://127.0.0.1:${await freePort()}`
    const token = { type: 'oauth', access: 'bench-access', refresh: 'bench-refresh', expires: Date.now() + 3_600_000 }
    const connected = await measureDaemon(
      { providers: { dexcom: { apiBaseUrl: closed }, oura: { apiBaseUrl: closed } } },
      { dexcom: token, oura: token },
    )

    // The baseline: plain node holding an http server.
    const bare = launch(cleanup, ['-e', BARE_SERVER], {})
    const barePort = await withTimeout(
      new Promise<number>((resolve, reject) => {
        bare.proc.stdout?.on('data', () => {
          const match = /port=(\d+)/.exec(bare.output())
          if (match?.[1]) resolve(Number(match[1]))
        })
        bare.proc.once('exit', () => reject(new Error(`bare server exited:\n${bare.output()}`)))
      }),
      10_000,
      'bare server start',
    )
    await waitForHttp(`http://127.0.0.1:${barePort}/`, bare, 5_000)
    const barePid = bare.proc.pid
    if (barePid === undefined) throw new Error('bare server has no pid')
    const baseline = await idleThenSample(barePid)

    const row = (label: string, m: Measured, ratioTo?: Measured) => [
      label,
      fixed(median(m.rssMiB)),
      `${fixed(Math.min(...m.rssMiB))}–${fixed(Math.max(...m.rssMiB))}`,
      fixed(m.hwmMiB),
      ratioTo ? fixed(median(m.rssMiB) / median(ratioTo.rssMiB), 2) : '',
    ]
    console.log(`  VmRSS sampled ${SAMPLES}× over ${((SAMPLES - 1) * SAMPLE_EVERY_MS) / 1000} s after ${IDLE_MS / 1000} s idle (one request answered first); ${process.version}`)
    console.log(
      table(
        ['MiB', 'VmRSS (median)', 'range', 'VmHWM (peak)', 'ratio'],
        [
          row('latchkey serve (idle, compiled, no Telegram, nothing connected)', latchkey, baseline),
          row('  same, Dexcom and Oura connected (their sync workers ran)', connected, baseline),
          row('bare node -e http server', baseline),
        ],
      ),
    )
    console.log('  ratio = latchkey VmRSS / bare node VmRSS (medians)')
    console.log(goal('idle daemon VmRSS (median)', `${fixed(median(latchkey.rssMiB))} MiB`, '≤ 100 MiB', median(latchkey.rssMiB) <= 100))
  } finally {
    await cleanup.run()
  }
}
