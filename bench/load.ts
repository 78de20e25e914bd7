// Main-thread side of the load generator: one worker thread, one measurement at a time.
import { fileURLToPath } from 'node:url'
import { Worker } from 'node:worker_threads'
import { withTimeout } from './support.js'

export interface LoadRequest {
  path: string
  cookie?: string
  authorization?: string
}

export interface LoadSpec {
  port: number
  requests: LoadRequest[]
  /** Reuse the request list round-robin (true) or send each entry once (false). */
  cycle: boolean
  concurrency: number
  maxRequests: number
  maxMs: number
}

export interface LoadResult {
  count: number
  elapsedMs: number
  rps: number
  /** Responses per HTTP status. */
  statuses: Record<string, number>
  errors: number
  firstError?: string
  /** Latency percentiles in ms. */
  p50: number
  p99: number
}

export interface LoadClient {
  run(spec: LoadSpec): Promise<LoadResult>
  close(): Promise<void>
}

/** Starts the worker; bench code runs under tsx, so the worker loads its .ts through the shim. */
export function startLoadClient(): LoadClient {
  const worker = new Worker(fileURLToPath(new URL('../jobs/_tsx-shim.mjs', import.meta.url)), {
    workerData: { tsEntry: new URL('./load-worker.ts', import.meta.url).href },
  })
  worker.unref()
  return {
    run: (spec) =>
      withTimeout(
        new Promise<LoadResult>((resolve, reject) => {
          const onError = (err: Error) => reject(err)
          worker.once('error', onError)
          worker.once('message', (m: LoadResult | { fatal: string }) => {
            worker.off('error', onError)
            if ('fatal' in m) reject(new Error(`load worker: ${m.fatal}`))
            else resolve(m)
          })
          worker.postMessage(spec)
        }),
        spec.maxMs + 20_000,
        'load run',
      ),
    close: async () => {
      await worker.terminate()
    },
  }
}
