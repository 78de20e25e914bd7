import { randomBytes } from 'node:crypto'
import { chmodSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import type { Config } from './config.js'

/** Where the generated API token lives when the config has none. */
export function apiTokenFile(config: Pick<Config, 'dataDir'>): string {
  return join(config.dataDir, 'api-token')
}

/**
 * The bearer token for /oauth/pending and /oauth/flows: from config or LATCHKEY_API_TOKEN, else
 * read from `<dataDir>/api-token`, generated there once (0600) when missing.
 */
export function ensureApiToken(config: Pick<Config, 'apiToken' | 'dataDir'>): string {
  if (config.apiToken) return config.apiToken
  const file = apiTokenFile(config)
  try {
    const token = readFileSync(file, 'utf8').trim()
    if ((statSync(file).mode & 0o077) !== 0) chmodSync(file, 0o600)
    if (token.length >= 32) return token
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err
  }
  mkdirSync(config.dataDir, { recursive: true, mode: 0o700 })
  const token = randomBytes(32).toString('base64url')
  writeFileSync(file, `${token}\n`, { mode: 0o600 })
  chmodSync(file, 0o600)
  return token
}

/** Reads the token without creating one (for CLI commands talking to a running daemon). */
export function readApiToken(config: Pick<Config, 'apiToken' | 'dataDir'>): string | undefined {
  if (config.apiToken) return config.apiToken
  try {
    return readFileSync(apiTokenFile(config), 'utf8').trim() || undefined
  } catch {
    return undefined
  }
}
