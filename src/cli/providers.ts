import type { Config } from '../config.js'
import type { Db } from '../db/open.js'
import { withStoredCredentials } from '../providers/credentials.js'
import type { Output } from './output.js'

/**
 * `latchkey providers`: every known provider, whether it has client credentials (from the
 * config, the environment or the chat), and its quirks.
 */
export function providersCommand(config: Config, db: Db, out: Output): number {
  const rows = Object.values(config.providers).map((configured) => withStoredCredentials(db, configured)).map((p) => [
    p.providerId,
    p.displayName,
    p.clientId ? (p.clientSecret ? 'client id + secret' : 'client id') : 'no client id',
    `${p.usePkce ? 'PKCE' : 'no PKCE'}, auth ${p.clientAuth}`,
  ])
  const widths = [0, 1, 2].map((i) => Math.max(...rows.map((r) => (r[i] ?? '').length)))
  for (const r of rows) out.info(r.map((cell, i) => (i < 3 ? cell.padEnd(widths[i] ?? 0) : cell)).join('  '))
  return 0
}
