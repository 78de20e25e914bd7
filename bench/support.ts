// Shared bits for the benchmarks: a teardown collector (the test helpers take one), timeouts,
// child-process handling, statistics and a small table printer.
import type { ChildProcess } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { setTimeout as sleep } from 'node:timers/promises'
import type { Teardown } from '../test/support/deps.js'

/** Collects cleanups (temp dirs, servers, child processes) and runs them last-in first-out. */
export class Cleanup implements Teardown {
  readonly #fns: (() => unknown)[] = []

  teardown(fn: () => unknown): void {
    this.#fns.push(fn)
  }

  async run(): Promise<void> {
    for (const fn of this.#fns.splice(0).reverse()) {
      try {
        await withTimeout(Promise.resolve(fn()), 10_000, 'cleanup step')
      } catch (err) {
        console.error(`  (cleanup: ${err instanceof Error ? err.message : String(err)})`)
      }
    }
  }
}

/** Rejects when `promise` has not settled after `ms`. */
export async function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} took longer than ${ms} ms`)), ms)
  })
  try {
    return await Promise.race([promise, timeout])
  } finally {
    clearTimeout(timer)
  }
}

/** SIGTERM, then SIGKILL when the process has not exited within `graceMs`. */
export async function stopChild(proc: ChildProcess, graceMs = 8_000): Promise<void> {
  if (proc.exitCode !== null || proc.signalCode !== null) return
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()))
  proc.kill('SIGTERM')
  const stopped = await Promise.race([exited.then(() => true), sleep(graceMs, false)])
  if (!stopped) {
    proc.kill('SIGKILL')
    await Promise.race([exited, sleep(2_000)])
  }
}

/** A field of /proc/<pid>/status in KiB (VmRSS, VmHWM, ...); Linux only. */
export function procStatusKiB(pid: number, field: string): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8')
  const match = new RegExp(`^${field}:\\s+(\\d+) kB$`, 'm').exec(status)
  if (!match?.[1]) throw new Error(`${field} not found in /proc/${pid}/status`)
  return Number(match[1])
}

/**
 * CPU time (user + system, ms) of this process's main thread so far, from /proc (Linux; NaN
 * elsewhere). 10 ms resolution: meant for rounds of seconds. Unlike wall-clock rates it does not
 * move when other processes take the cores.
 */
export function mainThreadCpuMs(): number {
  try {
    const stat = readFileSync(`/proc/self/task/${process.pid}/stat`, 'utf8')
    // Fields after the command name (which may hold spaces): utime is the 14th field, stime the 15th.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100
  } catch {
    return Number.NaN
  }
}

/** Nearest-rank percentile (p in 0..100) of an ascending array. */
export function percentile(sorted: ArrayLike<number>, p: number): number {
  if (sorted.length === 0) return Number.NaN
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length)))
  return sorted[rank - 1] ?? Number.NaN
}

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  if (sorted.length === 0) return Number.NaN
  const mid = sorted.length >> 1
  return sorted.length % 2 ? (sorted[mid] ?? Number.NaN) : ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2
}

export function fixed(n: number, digits = 1): string {
  return Number.isFinite(n) ? n.toFixed(digits) : '-'
}

export function whole(n: number): string {
  return Number.isFinite(n) ? Math.round(n).toLocaleString('en-US') : '-'
}

/** Left-aligned first column, right-aligned others. */
export function table(header: string[], rows: string[][], indent = '  '): string {
  const all = [header, ...rows]
  const widths = header.map((_h, i) => Math.max(...all.map((r) => (r[i] ?? '').length)))
  const line = (r: string[]) =>
    indent + r.map((cell, i) => (i === 0 ? cell.padEnd(widths[i] ?? 0) : cell.padStart(widths[i] ?? 0))).join('   ').trimEnd()
  return [line(header), indent + widths.map((w) => '-'.repeat(w)).join('   '), ...rows.map(line)].join('\n')
}

/** One line for a goal of issue 11: the figure, the goal beside it, and whether it is met. */
export function goal(what: string, figure: string, target: string, met: boolean): string {
  return `  goal  ${what}: ${figure} (goal ${target}) — ${met ? 'met' : 'not met'}`
}
