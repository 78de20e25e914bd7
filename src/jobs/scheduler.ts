import Bree from 'bree'
import { existsSync } from 'node:fs'
import { setTimeout as sleep } from 'node:timers/promises'
import { fileURLToPath } from 'node:url'
import type { Deps } from '../deps.js'
import { writeRawLine } from '../log.js'
import type { WorkerMessage } from './worker.js'

/** How long stop() lets running jobs finish before terminating their workers. */
export const STOP_GRACE_MS = 5_000
/** At start, the longest one job's run holds back the next one's (a slow provider must not stall the rest). */
const START_TURN_MS = 60_000

export interface Scheduler {
  /** Runs a job now; if it is already running, runs it again as soon as it ends. */
  runNow(name: string): void
  /** Whether a worker of this job is running now. */
  isRunning(name: string): boolean
  stop(): Promise<void>
}

export interface JobSpec {
  name: string
  intervalMs: number
  /** The job file under jobs/ when it is not `name` (one file can run several jobs). */
  file?: string
  /** Plain data for this job's worker, beside the config. */
  workerData?: Record<string, unknown>
  /** Called in the main thread with what the job's function returned. */
  onResult?: (result: unknown) => void
  /**
   * Whether a scheduled run has anything to do, asked in the main thread before a worker is
   * started (a worker is a new isolate: ~100 ms of CPU and memory that an idle daemon keeps).
   * Runs asked for by runNow always start.
   */
  due?: () => boolean | Promise<boolean>
}

// Compiled: dist/src/jobs/scheduler.js next to dist/jobs/<name>.js. From source (tests, tsx):
// src/jobs/scheduler.ts, and the worker goes through the tsx shim (stack-notes.md §4).
function jobPath(name: string): { path: string; tsEntry?: string } {
  const fromSource = import.meta.url.endsWith('.ts')
  const compiled = fileURLToPath(new URL(`../../jobs/${name}.js`, import.meta.url))
  if (!fromSource) return { path: compiled }
  const tsEntry = new URL(`../../jobs/${name}.ts`, import.meta.url).href
  return { path: fileURLToPath(new URL('../../jobs/_tsx-shim.mjs', import.meta.url)), tsEntry }
}

/**
 * Starts Bree with the given jobs, each running at start (one after another) and then every
 * `intervalMs` when it is `due` (a tick while the job still runs is skipped). Workers get the config (plain data) and
 * build their own deps; their log lines and results come back by message.
 */
export async function startScheduler(deps: Pick<Deps, 'config' | 'log'>, jobs: JobSpec[]): Promise<Scheduler> {
  const rerun = new Set<string>()
  let stopping = false
  const specs = new Map(jobs.map((j) => [j.name, j]))
  const bree = new Bree({
    root: false,
    // No job gets a default timeout or interval: Bree runs a job only when asked; the ticks below ask.
    timeout: false,
    logger: {
      info: () => {},
      warn: (...args: unknown[]) => {
        // "already running" is expected when the interval and an event coincide.
        if (!String(args[0]).includes('already running')) deps.log.warn({ detail: String(args[0]) }, 'scheduler warning')
      },
      error: (...args: unknown[]) => deps.log.error({ detail: String(args[0]) }, 'scheduler error'),
    } as never,
    errorHandler: (err, meta) => {
      if (!stopping) deps.log.error({ job: meta?.name, message: (err as Error).message }, 'job failed')
    },
    workerMessageHandler: ({ name, message: raw }) => {
      const message = raw as WorkerMessage | 'done'
      if (message === 'done') return
      if ('log' in message) writeRawLine(deps.log, message.log)
      else specs.get(name)?.onResult?.(message.result)
    },
    // Workers inherit the main thread's execArgv; a test runner's --import hooks (tap's TypeScript
    // and coverage loaders) would then wrap every module a worker loads, taking seconds per run.
    worker: { workerData: { config: deps.config }, execArgv: process.execArgv.filter((a) => a === '--enable-source-maps') },
    jobs: jobs.map((j) => {
      const { path, tsEntry } = jobPath(j.file ?? j.name)
      if (!existsSync(path)) throw new Error(`job file missing: ${path} (run npm run build)`)
      const workerData = { ...j.workerData, ...(tsEntry ? { tsEntry } : {}) }
      return { name: j.name, path, ...(Object.keys(workerData).length ? { worker: { workerData } } : {}) }
    }),
  })
  bree.on('worker deleted', (name: string) => {
    if (!stopping && rerun.delete(name)) void bree.run(name)
  })
  await bree.start()
  const tick = async (job: JobSpec) => {
    if (stopping || bree.workers.has(job.name)) return
    try {
      if (job.due && !(await job.due())) return
    } catch (err) {
      // A check that cannot decide runs the job: the job reports what is wrong.
      deps.log.warn({ job: job.name, message: (err as Error).message }, 'job check failed: running the job')
    }
    if (!stopping && !bree.workers.has(job.name)) void bree.run(job.name)
  }
  /** Resolves once no worker of `name` runs (at once when none does). */
  const ended = (name: string) =>
    new Promise<void>((resolve) => {
      if (!bree.workers.has(name)) return resolve()
      const onDeleted = (deleted: string) => {
        if (deleted !== name) return
        bree.off('worker deleted', onDeleted)
        resolve()
      }
      bree.on('worker deleted', onDeleted)
    })
  // At start, the jobs that are due run one after another, in the order given (refresh-tokens
  // before the syncs that use its tokens): one worker at a time, each waited for up to a minute.
  // Started together, they peaked ~30 MiB higher and left more memory behind in the daemon.
  setImmediate(async () => {
    for (const job of jobs) {
      await tick(job)
      await Promise.race([ended(job.name), sleep(START_TURN_MS, undefined, { ref: false })])
    }
  })
  const timers = jobs.map((job) => setInterval(() => void tick(job), job.intervalMs).unref())

  return {
    runNow(name) {
      if (stopping) return
      if (bree.workers.has(name)) rerun.add(name)
      else void bree.run(name)
    },
    isRunning: (name) => bree.workers.has(name),
    async stop() {
      stopping = true
      for (const timer of timers) clearInterval(timer)
      // bree.stop() waits for workers with no upper bound (breejs/bree#49): bound it.
      await Promise.race([bree.stop(), sleep(STOP_GRACE_MS, undefined, { ref: false })])
      await Promise.all([...bree.workers.values()].map((w) => w.terminate()))
    },
  }
}
