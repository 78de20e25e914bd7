// The proxy bench's client as a child process of its own (bench/proxy.ts starts it with tsx), so
// that its CPU time is its own: a worker thread would share process.cpuUsage() with the proxy
// under test, and Node 20 has no per-thread figure. Over IPC it runs a load (load-worker's run)
// or a streamed download, and answers each with the CPU time this process spent on it.
import { get } from 'node:http'
import { run } from './load-worker.js'
import type { LoadResult, LoadSpec } from './load.js'

/** A download of `path`: the body is counted and dropped. */
export interface DownloadSpec {
  port: number
  path: string
  authorization?: string
}

export type ClientJob = { kind: 'load'; spec: LoadSpec } | { kind: 'download'; spec: DownloadSpec }

/** What a job answers: its result and this process's CPU time (user + system, µs) while it ran. */
export type ClientAnswer<R> = { result: R; cpuUs: number } | { fatal: string }

export interface DownloadResult {
  bytes: number
  ms: number
  status: number
}

function download(spec: DownloadSpec): Promise<DownloadResult> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now()
    get({ host: '127.0.0.1', port: spec.port, path: spec.path, headers: spec.authorization ? { authorization: spec.authorization } : {} }, (res) => {
      let bytes = 0
      res.on('data', (c: Buffer) => (bytes += c.length))
      res.on('end', () => resolve({ bytes, ms: performance.now() - t0, status: res.statusCode ?? 0 }))
      res.on('error', reject)
    }).on('error', reject)
  })
}

async function answer(job: ClientJob): Promise<ClientAnswer<LoadResult | DownloadResult>> {
  const cpu = process.cpuUsage()
  const result = job.kind === 'load' ? await run(job.spec) : await download(job.spec)
  const spent = process.cpuUsage(cpu)
  return { result, cpuUs: spent.user + spent.system }
}

process.on('message', (job: ClientJob) => {
  answer(job).then(
    (a) => process.send?.(a),
    (err: unknown) => process.send?.({ fatal: err instanceof Error ? err.message : String(err) }),
  )
})
process.on('disconnect', () => process.exit(0))
