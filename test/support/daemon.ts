import type { Config } from '../../src/config.js'
import { startDaemon, type Daemon } from '../../src/daemon.js'
import { createLogger } from '../../src/log.js'
import { freePort, logCapture, testConfig, type Teardown } from './deps.js'

export const TEST_API_TOKEN = 'test-api-token-0123456789abcdef-0123456789'

export interface TestDaemon {
  daemon: Daemon
  config: Config
  logs: ReturnType<typeof logCapture>
  /** fetch against the daemon with the API token. */
  api(path: string, init?: RequestInit): Promise<Response>
}

/**
 * The real daemon in this process (HTTP server on a free loopback port, Bree running the
 * resolve job in worker threads through the tsx shim), with its log captured.
 */
export async function startTestDaemon(t: Teardown, raw: Record<string, unknown> = {}): Promise<TestDaemon> {
  const port = await freePort()
  const config = testConfig(t, {
    listen: { host: '127.0.0.1', port },
    publicUrl: `http://127.0.0.1:${port}`,
    apiToken: TEST_API_TOKEN,
    resolveIntervalMs: 60_000, // the callback event must be what runs the job
    ...raw,
  })
  const logs = logCapture()
  const daemon = await startDaemon(config, { log: createLogger('debug', logs.stream) })
  t.teardown(() => daemon.close())
  const api = (path: string, init: RequestInit = {}) =>
    fetch(`${config.publicUrl}${path}`, {
      ...init,
      headers: { authorization: `Bearer ${TEST_API_TOKEN}`, 'content-type': 'application/json', ...(init.headers as Record<string, string>) },
    })
  return { daemon, config, logs, api }
}

export interface FlowAnswer {
  state: string
  flowId: string
  startUrl: string
  authorizationUrl: string
  expiresAt: number
}

/** POST /oauth/flows and return the parsed 201 body (throws on any other status). */
export async function postFlow(d: TestDaemon, provider: string, exchange: 'daemon' | 'client' = 'daemon'): Promise<FlowAnswer> {
  const res = await d.api('/oauth/flows', { method: 'POST', body: JSON.stringify({ provider, exchange }) })
  if (res.status !== 201) throw new Error(`POST /oauth/flows answered ${res.status}: ${await res.text()}`)
  return (await res.json()) as FlowAnswer
}
