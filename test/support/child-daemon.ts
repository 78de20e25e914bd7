import { spawn, type ChildProcess } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { setTimeout as sleep } from 'node:timers/promises'

/** The compiled CLI (`npm test` builds first). */
export const BIN = fileURLToPath(new URL('../../dist/src/cli/bin.js', import.meta.url))

export interface ChildDaemon {
  proc: ChildProcess
  output(): string
  /** Sends `signal` and resolves with the exit code. */
  stop(signal?: NodeJS.Signals): Promise<number | null>
}

/** How long a daemon may take to answer /healthz: generous, as CI runs test files side by side on 2 cores. */
const START_TIMEOUT_MS = 30_000

/** Runs `latchkey serve` as a real child process and waits until /healthz answers (killing it if it never does). */
export async function spawnDaemon(env: Record<string, string>, baseUrl: string): Promise<ChildDaemon> {
  const proc = spawn(process.execPath, [BIN, 'serve'], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] })
  let output = ''
  proc.stdout?.on('data', (c) => (output += c))
  proc.stderr?.on('data', (c) => (output += c))
  const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)))
  const deadline = Date.now() + START_TIMEOUT_MS
  for (;;) {
    if (proc.exitCode !== null) throw new Error(`daemon exited early:\n${output}`)
    try {
      if ((await fetch(`${baseUrl}/healthz`)).ok) break
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      // Left running, it would keep the test process alive until tap's timeout.
      proc.kill('SIGKILL')
      throw new Error(`daemon did not answer /healthz within ${START_TIMEOUT_MS / 1000} s:\n${output}`)
    }
    await sleep(50)
  }
  return {
    proc,
    output: () => output,
    stop: async (signal = 'SIGTERM') => {
      proc.kill(signal)
      return exited
    },
  }
}

/** What a finished `latchkey` command left: its exit code (null if a signal ended it) and output. */
export interface CliRun {
  code: number | null
  stdout: string
  stderr: string
}

/**
 * Runs the compiled CLI with `args` in an environment of only PATH and `env` (no HOME or
 * LATCHKEY_* of the machine leaks in), killed after `timeoutMs`. `onStdout` sees the output so
 * far at each chunk (to act on a printed link while the command waits).
 */
export function runLatchkey(env: Record<string, string>, args: readonly string[], opts: { onStdout?: (text: string) => void; timeoutMs?: number } = {}): Promise<CliRun> {
  return new Promise((resolve) => {
    const proc = spawn(process.execPath, [BIN, ...args], { env: { PATH: process.env.PATH ?? '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] })
    const timer = setTimeout(() => proc.kill('SIGKILL'), opts.timeoutMs ?? 120_000)
    let stdout = ''
    let stderr = ''
    proc.stdout.on('data', (c) => {
      stdout += c
      opts.onStdout?.(stdout)
    })
    proc.stderr.on('data', (c) => (stderr += c))
    proc.once('close', (code) => {
      clearTimeout(timer)
      resolve({ code, stdout, stderr })
    })
  })
}
