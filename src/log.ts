import { createRequire } from 'node:module'
import { pino, symbols, type Logger } from 'pino'

export type { Logger }

/**
 * Fields that must never reach a log line (oauth-security.md E1). pino's `*.x` matches one
 * level only, so the common nestings are listed.
 */
export const REDACT_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'res.headers["set-cookie"]',
  ...['access_token', 'refresh_token', 'id_token', 'client_secret', 'clientSecret', 'code', 'code_verifier',
    'codeVerifier', 'apiToken', 'token', 'access', 'refresh'].flatMap((k) => [k, `*.${k}`]),
]

/** What a flat line carries besides `req`: strings, numbers, no objects (so nothing nested to hide). */
export type FlatFields = Record<string, string | number | boolean | null>

/**
 * A child of `log` for flat lines (fields of FlatFields, `req` already cut by requestSummary):
 * the one line per request. Same secret keys at the top level, same request
 * headers; no `*.` paths, which pino runs over every field of every line, strings and numbers
 * included, where they can find nothing: 15 µs of the line's 17.
 */
export function flatLineLogger(log: Logger): Logger {
  return log.child({}, { redact: { paths: REDACT_PATHS.filter((p) => !p.startsWith('*.')), censor: '[REDACTED]' } })
}

/**
 * A flow id is the secret part of its start link (`/oauth/start/<flowId>`) while the flow waits:
 * logs carry its first 8 characters, enough to find the row, too few to open the link.
 */
export function flowRef(flowId: string): string {
  return `${flowId.slice(0, 8)}…`
}

/** A request path for the log: no query string (codes), and the capability in start/pending paths cut to a prefix. */
export function loggablePath(url: string): string {
  const query = url.indexOf('?')
  const path = query < 0 ? url : url.slice(0, query)
  if (!path.startsWith('/oauth/start/') && !path.startsWith('/oauth/pending/')) return path
  return path.replace(/^(\/oauth\/(?:start|pending)\/)([^/]*)/, (_all, prefix: string, id: string) => `${prefix}${flowRef(id)}`)
}

/** What a log line says of a request: method, loggable path (no query, no capability) and peer address. */
export function requestSummary(r: { method: string; url: string; ip?: string }): { method: string; path: string; ip: string | undefined } {
  return { method: r.method, path: loggablePath(r.url), ip: r.ip }
}

/**
 * Readable lines for a person at a terminal (pino-pretty, in this thread, synchronous); JSON
 * lines when stdout is a pipe or a file (pm2, journald, tests), as log tools expect.
 */
function stdoutDestination(): NodeJS.WritableStream | undefined {
  if (!process.stdout.isTTY) return undefined
  // Loaded only here: commands that log to a pipe never pay for it.
  const pretty = createRequire(import.meta.url)('pino-pretty') as (opts: object) => NodeJS.WritableStream
  return pretty({ destination: 1, sync: true, colorize: true, translateTime: 'SYS:HH:MM:ss', ignore: 'pid,hostname,reqId,req' })
}

/**
 * The one logger: to `destination`, else stdout (readable on a terminal, JSON otherwise);
 * secrets redacted, flow ids shortened.
 */
export function createLogger(level: string, destination?: NodeJS.WritableStream): Logger {
  return pino(
    { level, redact: { paths: REDACT_PATHS, censor: '[REDACTED]' }, serializers: { flowId: (v: unknown) => (typeof v === 'string' ? flowRef(v) : v) } },
    (destination ?? stdoutDestination()) as never,
  )
}

/**
 * Writes an already-serialised (and already-redacted) log line to the logger's destination:
 * how worker threads' log lines join the main log.
 */
export function writeRawLine(log: Logger, line: string): void {
  const stream = (log as unknown as Record<symbol, { write(s: string): void } | undefined>)[symbols.streamSym]
  ;(stream ?? process.stdout).write(line)
}
