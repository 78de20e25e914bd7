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

/** The one logger: JSON to stdout (or `destination`), secrets redacted. */
export function createLogger(level: string, destination?: NodeJS.WritableStream): Logger {
  return pino({ level, redact: { paths: REDACT_PATHS, censor: '[REDACTED]' } }, destination as never)
}

/**
 * Writes an already-serialised (and already-redacted) log line to the logger's destination:
 * how worker threads' log lines join the main log.
 */
export function writeRawLine(log: Logger, line: string): void {
  const stream = (log as unknown as Record<symbol, { write(s: string): void } | undefined>)[symbols.streamSym]
  ;(stream ?? process.stdout).write(line)
}
