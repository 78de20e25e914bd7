import type { Config } from '../config.js'
import { createDeps } from '../deps.js'
import { AppError } from '../errors.js'
import { createLogger } from '../log.js'
import { TokenSource } from '../oauth/refresh.js'
import type { Output } from './output.js'

/** Exit codes of `latchkey token`, for scripts. */
export const TOKEN_EXIT = { notConnected: 5, needsReauth: 6, unreachable: 7 } as const

/**
 * `latchkey token <provider> [--min-validity SECONDS]`: prints a fresh access token alone on
 * stdout. Problems go to stderr with a distinct exit code.
 */
export async function tokenCommand(config: Config, providerId: string, minValiditySeconds: number, out: Output): Promise<number> {
  const deps = createDeps(config, { log: createLogger(config.logLevel === 'info' ? 'warn' : config.logLevel, process.stderr) })
  try {
    out.info(await new TokenSource(deps).getAccessToken(providerId, { minValidityMs: minValiditySeconds * 1000 }))
    return 0
  } catch (err) {
    if (!(err instanceof AppError)) throw err
    out.error(err.message)
    if (err.code === 'NOT_CONNECTED') return TOKEN_EXIT.notConnected
    if (err.code === 'NEEDS_REAUTH') return TOKEN_EXIT.needsReauth
    if (err.code === 'PROVIDER_UNREACHABLE') return TOKEN_EXIT.unreachable
    return 1
  } finally {
    deps.db.close()
  }
}
