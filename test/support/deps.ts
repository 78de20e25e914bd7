import { mkdtempSync, rmSync } from 'node:fs'
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Writable } from 'node:stream'
import { manualClock } from '../../src/clock.js'
import { parseConfig, type Config } from '../../src/config.js'
import { createDeps, type Deps } from '../../src/deps.js'
import { createLogger } from '../../src/log.js'

/** The subset of tap's Test that support code needs. */
export interface Teardown {
  teardown(fn: () => unknown): void
}

/** A fresh 0700 temp directory, removed after the test. */
export function tempDir(t: Teardown, prefix = 'latchkey-test-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  return dir
}

/** A validated config whose files live in a temp directory; `raw` is merged over the defaults. */
export function testConfig(t: Teardown, raw: Record<string, unknown> = {}, env: Record<string, string> = {}): Config {
  const dir = tempDir(t)
  return parseConfig(
    { dataDir: join(dir, 'data'), authFile: join(dir, 'agent', 'auth.json'), apiToken: 'test-api-token-0123456789abcdef-0123456789', logLevel: 'debug', ...raw },
    { HOME: dir, ...env },
  )
}

/** Captures every log line as text, so tests can look for leaked canaries. */
export function logCapture(): { stream: Writable; text(): string; lines(): Record<string, unknown>[] } {
  const chunks: string[] = []
  const stream = new Writable({
    write(chunk, _enc, cb) {
      chunks.push(String(chunk))
      cb()
    },
  })
  return {
    stream,
    text: () => chunks.join(''),
    lines: () => chunks.join('').split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>),
  }
}

export type TestDeps = Deps & { clock: ReturnType<typeof manualClock>; logs: ReturnType<typeof logCapture> }

/** Real deps on a real SQLite file, a manual clock and a captured logger. */
export function testDeps(t: Teardown, opts: { config?: Config; now?: number } = {}): TestDeps {
  const config = opts.config ?? testConfig(t)
  const logs = logCapture()
  const clock = manualClock(opts.now ?? Date.UTC(2026, 10, 25, 12, 0, 0))
  const deps = createDeps(config, { clock, log: createLogger('debug', logs.stream) })
  t.teardown(() => deps.db.close())
  return { ...deps, clock, logs }
}

export interface RecordedRequest {
  method: string
  url: string
  headers: IncomingMessage['headers']
  body: string
  form: Record<string, string>
}

/**
 * A node:http server on 127.0.0.1:0 that records every request and answers with `handler`
 * (status and JSON body). Stands in for a provider's token endpoint where oidc-provider cannot
 * produce the case (a 500, a malformed body, Withings' wrapped response).
 */
export async function fakeServer(
  t: Teardown,
  handler: (req: RecordedRequest) => { status?: number; json?: unknown; body?: string; delayMs?: number },
): Promise<{ url: string; requests: RecordedRequest[] }> {
  const requests: RecordedRequest[] = []
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    let body = ''
    req.on('data', (c) => (body += c))
    req.on('end', () => {
      const recorded: RecordedRequest = {
        method: req.method ?? '',
        url: req.url ?? '',
        headers: req.headers,
        body,
        form: Object.fromEntries(new URLSearchParams(body)),
      }
      requests.push(recorded)
      const answer = handler(recorded)
      const send = () => {
        res.writeHead(answer.status ?? 200, { 'content-type': 'application/json' })
        res.end(answer.body ?? JSON.stringify(answer.json ?? {}))
      }
      // unref: a held answer must not keep the test process alive after its client is gone
      if (answer.delayMs) setTimeout(send, answer.delayMs).unref()
      else send()
    })
  })
  const url = await listenLoopback(server, t)
  server.unref()
  return { url, requests }
}

/**
 * Listens on an ephemeral loopback port and returns the origin (`http://127.0.0.1:<port>`). With
 * `t`, the server is closed at teardown, open connections cut (a keep-alive socket would hold it).
 */
export async function listenLoopback(server: Server, t?: Teardown): Promise<string> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject)
      resolve()
    })
  })
  t?.teardown(
    () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve())
        server.closeAllConnections()
      }),
  )
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`
}

/** A free loopback port (listen on 0, read it, close). */
export async function freePort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  await new Promise<void>((resolve) => server.close(() => resolve()))
  return port
}
