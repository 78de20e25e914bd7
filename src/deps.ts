import { EventEmitter } from 'node:events'
import { got, type Got } from 'got'
import type { Config } from './config.js'
import { systemClock, type Clock } from './clock.js'
import { openDb, type Db } from './db/open.js'
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
  http: Got
  log: Logger
  events: FlowEvents
}

export function createHttpClient(): Got {
  return got.extend({ timeout: { request: HTTP_TIMEOUT_MS }, headers: { 'user-agent': 'latchkey' } })
}

/** Builds the dependencies for the daemon, a job or a CLI command from a validated config. */
export function createDeps(config: Config, overrides: Partial<Omit<Deps, 'config'>> = {}): Deps {
  const events: FlowEvents = new EventEmitter()
  events.setMaxListeners(0) // one listener per long-polling request
  return {
    config,
    db: overrides.db ?? openDb(config.dbFile),
    clock: overrides.clock ?? systemClock,
    http: overrides.http ?? createHttpClient(),
    log: overrides.log ?? createLogger(config.logLevel),
    events: overrides.events ?? events,
  }
}
