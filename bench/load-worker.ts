// The load generator, run in a worker thread (through jobs/_tsx-shim.mjs) so that the client
// and the server under test do not share one event loop. It keeps `concurrency` requests in
// flight over keep-alive sockets (node:http Agent) until the request list or the time runs out.
import { Agent, request } from 'node:http'
import { parentPort } from 'node:worker_threads'
import type { LoadResult, LoadSpec } from './load.js'

function once(agent: Agent, port: number, path: string, cookie: string | undefined, authorization?: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request({ agent, host: '127.0.0.1', port, path, method: 'GET', headers: { ...(cookie ? { cookie } : {}), ...(authorization ? { authorization } : {}) } }, (res) => {
      res.on('data', () => {})
      res.on('end', () => resolve(res.statusCode ?? 0))
      res.on('error', reject)
    })
    req.setTimeout(10_000, () => req.destroy(new Error('request timed out')))
    req.on('error', reject)
    req.end()
  })
}

/** One measurement: `spec.concurrency` requests in flight until the list or the time runs out. */
export async function run(spec: LoadSpec): Promise<LoadResult> {
  const agent = new Agent({ keepAlive: true, maxSockets: spec.concurrency })
  const total = spec.cycle ? spec.maxRequests : Math.min(spec.maxRequests, spec.requests.length)
  const latencies = new Float64Array(total)
  const statuses: Record<string, number> = {}
  let next = 0
  let done = 0
  let errors = 0
  let firstError: string | undefined
  const start = performance.now()
  const deadline = start + spec.maxMs

  const lane = async () => {
    while (next < total && performance.now() < deadline && errors < 100) {
      const i = next++
      const r = spec.requests[i % spec.requests.length]
      if (!r) break
      const t0 = performance.now()
      try {
        const status = await once(agent, spec.port, r.path, r.cookie, r.authorization)
        latencies[done++] = performance.now() - t0
        statuses[status] = (statuses[status] ?? 0) + 1
      } catch (err) {
        errors++
        firstError ??= err instanceof Error ? err.message : String(err)
      }
    }
  }
  await Promise.all(Array.from({ length: spec.concurrency }, lane))
  const elapsedMs = performance.now() - start
  agent.destroy()
  const sorted = latencies.subarray(0, done).sort()
  const pick = (p: number) => (done ? (sorted[Math.min(done - 1, Math.ceil((p / 100) * done) - 1)] ?? Number.NaN) : Number.NaN)
  return {
    count: done,
    elapsedMs,
    rps: (done / elapsedMs) * 1000,
    statuses,
    errors,
    ...(firstError !== undefined ? { firstError } : {}),
    p50: pick(50),
    p99: pick(99),
  }
}

parentPort?.on('message', (spec: LoadSpec) => {
  run(spec).then(
    (result) => parentPort?.postMessage(result),
    (err: unknown) => parentPort?.postMessage({ fatal: err instanceof Error ? err.message : String(err) }),
  )
})
