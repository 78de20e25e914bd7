import { existsSync, readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { shouldRefresh } from '../oauth/refresh-policy.js'
import { BUILT_IN_PROVIDERS } from '../providers/catalog.js'
import { DB_FILE_NAME, DEFAULT_PATHS, configPathFrom, expandHome } from '../paths.js'

type Env = Record<string, string | undefined>

const DEFAULT_MIN_VALIDITY_SECONDS = 60
const MAX_MIN_VALIDITY_SECONDS = 86_400

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}

/** `token <id> [--min-validity N]` and nothing else (help, unknown flags: the full CLI). */
function parseArgs(argv: readonly string[]): { providerId: string; minValidityMs: number } | undefined {
  const [command, providerId, ...rest] = argv
  if (command !== 'token' || !providerId || providerId.startsWith('-')) return undefined
  let seconds = DEFAULT_MIN_VALIDITY_SECONDS
  if (rest.length) {
    const value = rest.length === 2 && rest[0] === '--min-validity' ? rest[1] : rest.length === 1 ? /^--min-validity=(.*)$/.exec(rest[0] ?? '')?.[1] : undefined
    if (value === undefined || !/^\d+$/.test(value) || Number(value) > MAX_MIN_VALIDITY_SECONDS) return undefined
    seconds = Number(value)
  }
  return { providerId, minValidityMs: seconds * 1000 }
}

/** The JSON file's content, or undefined when it is missing, unreadable or not JSON. */
function readJson(path: string): unknown {
  try {
    return JSON.parse(readFileSync(path, 'utf8'))
  } catch {
    return undefined
  }
}

/** The connection's status in SQLite, null without a row or a database; undefined when unreadable. */
async function connectionStatus(dbFile: string, providerId: string): Promise<string | null | undefined> {
  if (!existsSync(dbFile)) return null
  try {
    const { default: Database } = await import('better-sqlite3')
    // Naming the addon skips the `bindings` package's search (a dozen failed lookups, each an Error).
    const addon = join(dirname(createRequire(import.meta.url).resolve('better-sqlite3/package.json')), 'build', 'Release', 'better_sqlite3.node')
    const db = new Database(dbFile, { fileMustExist: true, ...(existsSync(addon) ? { nativeBinding: addon } : {}) })
    try {
      return (db.prepare('SELECT status FROM connections WHERE provider = ?').pluck().get(providerId) as string | undefined) ?? null
    } finally {
      db.close()
    }
  } catch {
    return undefined
  }
}

/**
 * The lean path of `latchkey token`, run before the CLI library loads: the token when the
 * config file and auth.json alone show it is fresh (a known provider, an `oauth` entry valid for
 * `--min-validity` more, a connection not marked needs_reauth). Anything else (a refresh, an
 * error to explain, a discovered provider, an unreadable file, other arguments) returns
 * undefined and the full command decides, with the whole config validated.
 */
export async function freshTokenFast(argv: readonly string[], env: Env, now = Date.now()): Promise<string | undefined> {
  const args = parseArgs(argv)
  if (!args) return undefined
  const configPath = configPathFrom(env)
  const config = existsSync(configPath) ? readJson(configPath) : env.LATCHKEY_CONFIG === undefined ? {} : undefined
  if (!isObject(config)) return undefined
  const { dataDir = DEFAULT_PATHS.dataDir, authFile = DEFAULT_PATHS.authFile, providers = {} } = config
  if (typeof dataDir !== 'string' || typeof authFile !== 'string' || !dataDir || !authFile || !isObject(providers)) return undefined
  if (!Object.hasOwn(BUILT_IN_PROVIDERS, args.providerId) && !Object.hasOwn(providers, args.providerId)) return undefined

  const auth = readJson(expandHome(authFile, env))
  const entry = isObject(auth) ? auth[args.providerId] : undefined
  if (!isObject(entry) || entry.type !== 'oauth' || typeof entry.access !== 'string') return undefined
  if (entry.expires !== undefined && typeof entry.expires !== 'number') return undefined
  if (shouldRefresh({ expires: entry.expires }, now, args.minValidityMs).should) return undefined
  const status = await connectionStatus(join(expandHome(dataDir, env), DB_FILE_NAME), args.providerId)
  if (status === undefined || status === 'needs_reauth') return undefined
  return entry.access
}
