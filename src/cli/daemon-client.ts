import { got, type Got } from 'got'
import { readApiToken } from '../api-token.js'
import type { Config } from '../config.js'
import { AppError } from '../errors.js'

/** A got client for the running daemon's API, authenticated with the API token. */
export function daemonClient(config: Config): Got {
  const token = readApiToken(config)
  if (!token)
    throw new AppError('DAEMON_UNREACHABLE', `no API token yet: start the daemon once ("latchkey serve") or set apiToken in ${config.configPath}`)
  return got.extend({
    prefixUrl: config.publicUrl,
    headers: { authorization: `Bearer ${token}` },
    timeout: { request: 75_000 },
    retry: { limit: 0 },
    throwHttpErrors: false,
    responseType: 'json',
  })
}

/** Wraps a connection failure to the daemon in a message that says what to do. */
export function daemonUnreachable(config: Config, err: unknown): AppError {
  const code = (err as { code?: string }).code ?? 'error'
  return new AppError('DAEMON_UNREACHABLE', `cannot reach the latchkey daemon at ${config.publicUrl} (${code}); is "latchkey serve" running?`)
}
