// Resident memory of the idle daemon: the compiled CLI started the way pm2 starts it
// (ecosystem.config.cjs: `node --enable-source-maps dist/src/cli/bin.js serve`, NODE_ENV=production)
// with a temp config, next to a bare `node -e` process holding an http server, in the same run.
// Each process answers one request, then sits idle ~3 s; VmRSS is then sampled from /proc.
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { BIN } from '../test/support/child-daemon.js'
import { freePort, tempDir } from '../test/support/deps.js'
import { Cleanup, fixed, goal, median, procStatusKiB, stopChild, table, withTimeout } from './support.js'

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
    // The daemon: default settings (info logging, resolve job every 5 s) but temp files and a free port.
    const dir = tempDir(cleanup, 'latchkey-bench-')
    mkdirSync(join(dir, 'home'))
    const port = await freePort()
    const configPath = join(dir, 'config.json')
    writeFileSync(
      configPath,
      JSON.stringify({ listen: { host: '127.0.0.1', port }, publicUrl: `http://127.0.0.1:${port}`, dataDir: join(dir, 'data'), authFile: join(dir, 'agent', 'auth.json') }),
    )
    const daemon = launch(cleanup, ['--enable-source-maps', BIN, 'serve'], { LATCHKEY_CONFIG: configPath, HOME: join(dir, 'home'), NODE_ENV: 'production' })
    await waitForHttp(`http://127.0.0.1:${port}/healthz`, daemon, 20_000)
    const daemonPid = daemon.proc.pid
    if (daemonPid === undefined) throw new Error('daemon has no pid')
    const latchkey = await idleThenSample(daemonPid)

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
        [row('latchkey serve (idle, compiled, no Telegram)', latchkey, baseline), row('bare node -e http server', baseline)],
      ),
    )
    console.log('  ratio = latchkey VmRSS / bare node VmRSS (medians)')
    console.log(goal('idle daemon VmRSS (median)', `${fixed(median(latchkey.rssMiB))} MiB`, '≤ 100 MiB', median(latchkey.rssMiB) <= 100))
  } finally {
    await cleanup.run()
  }
}
