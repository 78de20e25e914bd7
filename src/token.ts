import { loadConfig } from './config.js'
import { createDeps } from './deps.js'
import { createLogger } from './log.js'
import { TokenSource } from './oauth/refresh.js'

// The library entry point has no composition root of its own, so the first call builds one
// (config from LATCHKEY_CONFIG, its own SQLite connection) and later calls share it, which is
// what lets concurrent callers in one process share a single refresh.
let defaultSource: TokenSource | undefined

/**
 * A fresh access token for `providerId`, refreshed first when it expires within
 * `minValidityMs` (default 60 s). Safe to call from many processes at once: refreshes are
 * serialised by a lock beside auth.json and never spend a rotating refresh token twice.
 *
 * Throws an `AppError` with code `NOT_CONNECTED`, `NEEDS_REAUTH`, `PROVIDER_UNREACHABLE`,
 * `PROVIDER_UNKNOWN`, `AUTH_FILE_CORRUPT` or `AUTH_FILE_UNWRITABLE`; its message says what to do.
 * Warnings go to stderr: the caller's stdout is never written.
 *
 * @example
 * import { getAccessToken } from 'latchkey'
 * const token = await getAccessToken('dexcom', { minValidityMs: 5 * 60_000 })
 */
export async function getAccessToken(providerId: string, opts: { minValidityMs?: number } = {}): Promise<string> {
  if (!defaultSource) {
    const config = loadConfig()
    // The caller's stdout is theirs (a script may print the token there): warnings go to stderr.
    const log = createLogger(config.logLevel === 'info' ? 'warn' : config.logLevel, process.stderr)
    defaultSource = new TokenSource(createDeps(config, { log }))
  }
  return defaultSource.getAccessToken(providerId, opts)
}
