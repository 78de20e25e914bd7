import { parentPort, workerData } from 'node:worker_threads'
import type { Config } from '../config.js'
import { createDeps, type Deps } from '../deps.js'
import type { Integration } from '../integrations/types.js'
import { INTEGRATIONS } from '../integrations/index.js'
import { createLogger } from '../log.js'

/** What a job worker posts to the main thread besides 'done'. */
export type WorkerMessage = { log: string } | { result: unknown }

/**
 * Runs one job in a Bree worker: builds its own deps (its own SQLite connection) from the
 * config the main thread passed in, posts the result, closes the database, then says 'done'.
 * Log lines travel by postMessage because worker stdout can be lost when Bree terminates it.
 * `extra` integrations (one the daemon was given besides the registry) get their tables too.
 */
export async function runJob(fn: (deps: Deps) => Promise<unknown>, extra: readonly Integration[] = []): Promise<void> {
  const config = (workerData as { config: Config }).config
  const post = (m: WorkerMessage) => parentPort?.postMessage(m)
  const log = createLogger(config.logLevel, { write: (line: string) => post({ log: line }) } as unknown as NodeJS.WritableStream)
  const integrations = [...INTEGRATIONS, ...extra.filter((i) => !INTEGRATIONS.some((r) => r.id === i.id))]
  const deps = createDeps(config, { log, integrations })
  try {
    post({ result: await fn(deps) })
  } finally {
    deps.db.close()
  }
  parentPort?.postMessage('done')
}
