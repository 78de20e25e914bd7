import { EventEmitter } from 'node:events'
import type { CancelableRequest, Got, OptionsOfTextResponseBody, Response } from 'got'
import type { Config } from './config.js'
import { systemClock, type Clock } from './clock.js'
import { openDb, type Db } from './db/open.js'
import { installDiscoveredProviders } from './discovery/install.js'
import { INTEGRATIONS } from './integrations/index.js'
import type { Integration } from './integrations/types.js'
import { createLogger, type Logger } from './log.js'

/** Token and API calls give up after this long (got has no default timeout at all). */
export const HTTP_TIMEOUT_MS = 10_000

/**
 * Flow events inside one thread: `callback` (a code or error arrived for a state) and
 * `flow-changed` (a flow's status moved). The scheduler forwards worker results as `flow-changed`.
 */
export type FlowEvents = EventEmitter<{ callback: [state: string]; 'flow-changed': [state: string] }>

/** Everything with a side effect, built once by a composition root and passed down. */
export interface Deps {
  config: Config
  db: Db
  clock: Clock
  http: HttpClient
  log: Logger
  events: FlowEvents
  /** The data integrations (the registry; tests pass their own). Their schemas apply in this order. */
  integrations: readonly Integration[]
}

/** Per-call limits got lacks: a body larger than `maxBytes` is aborted as it streams in. */
export interface HttpLimits {
  maxBytes?: number
}

/** Thrown (as `code`) when a response body passes its HttpLimits.maxBytes. */
export const BODY_TOO_LARGE = 'ERR_BODY_TOO_LARGE'

/** The two got calls latchkey makes, each answered with the whole text response. */
export interface HttpClient {
  get(url: string, options: OptionsOfTextResponseBody, limits?: HttpLimits): Promise<Response<string>>
  post(url: string, options: OptionsOfTextResponseBody, limits?: HttpLimits): Promise<Response<string>>
}

/** Runs one got call, cancelling it once the body (announced or received) passes `maxBytes`. */
async function capped(call: () => CancelableRequest<Response<string>>, limits: HttpLimits = {}): Promise<Response<string>> {
  const max = limits.maxBytes
  const request = call()
  let tooLarge = false
  if (max !== undefined)
    request.on('downloadProgress', (p: { transferred: number; total?: number }) => {
      if (tooLarge || (p.transferred <= max && (p.total ?? 0) <= max)) return
      tooLarge = true
      request.cancel()
    })
  try {
    return await request
  } catch (err) {
    if (tooLarge) throw Object.assign(new Error(`response body over ${max} bytes`), { code: BODY_TOO_LARGE })
    throw err
  }
}

/**
 * got with latchkey's timeout and user agent, loaded on the first request: `latchkey token` with
 * a fresh token (scripts call it often) never makes one, and got's ~100 modules cost ~100 ms.
 */
export function createHttpClient(): HttpClient {
  let client: Promise<Got> | undefined
  const load = () => (client ??= import('got').then(({ got }) => got.extend({ timeout: { request: HTTP_TIMEOUT_MS }, headers: { 'user-agent': 'latchkey' } })))
  return {
    get: async (url, options, limits) => {
      const got = await load()
      return capped(() => got.get(url, options), limits)
    },
    post: async (url, options, limits) => {
      const got = await load()
      return capped(() => got.post(url, options), limits)
    },
  }
}

/** Builds the dependencies for the daemon, a job or a CLI command from a validated config. */
export function createDeps(config: Config, overrides: Partial<Omit<Deps, 'config'>> = {}): Deps {
  const events: FlowEvents = new EventEmitter()
  events.setMaxListeners(0) // one listener per long-polling request
  const integrations = overrides.integrations ?? INTEGRATIONS
  const deps: Deps = {
    config,
    db: overrides.db ?? openDb(config.dbFile, integrations),
    clock: overrides.clock ?? systemClock,
    http: overrides.http ?? createHttpClient(),
    log: overrides.log ?? createLogger(config.logLevel),
    events: overrides.events ?? events,
    integrations,
  }
  // Providers found by "connect <url>" live in SQLite; from here on they are like any other.
  installDiscoveredProviders(config, deps.db, deps.log)
  return deps
}
