import type { Config } from '../config.js'
import type { Db } from '../db/open.js'
import { getDiscovered } from '../db/discovered.js'
import { isConfiguredId } from '../discovery/install.js'
import { BUILT_IN_PROVIDERS } from '../providers/catalog.js'
import { withStoredCredentials } from '../providers/credentials.js'
import type { Output } from './output.js'

/** One provider as `latchkey providers --json` prints it. */
export interface ProviderRow {
  id: string
  name: string
  hasClientId: boolean
  hasClientSecret: boolean
  usePkce: boolean
  clientAuth: 'body' | 'basic'
  redirectMode: 'callback' | 'paste' | 'device'
  /** Whether `disconnect` can revoke the grant at the provider (it has a revocationUrl). */
  revocable: boolean
  /** Where the provider's description comes from: the catalog, the config, or "connect <url>". */
  source: 'built-in' | 'config' | 'discovered'
  /** The URL it was discovered from (discovered providers only). */
  url?: string
}

/**
 * `latchkey providers [--json]`: every known provider, whether it has client credentials (from
 * the config, the environment or the chat), and its quirks.
 */
export function providersCommand(config: Config, db: Db, out: Output, opts: { json?: boolean } = {}): number {
  const rows: ProviderRow[] = Object.values(config.providers)
    .map((configured) => withStoredCredentials(db, configured))
    .map((p): ProviderRow => {
      const discovered = isConfiguredId(config, db, p.providerId) ? undefined : getDiscovered(db, p.providerId)
      return {
        id: p.providerId,
        name: p.displayName,
        hasClientId: p.clientId !== undefined,
        hasClientSecret: p.clientSecret !== undefined,
        usePkce: p.usePkce,
        clientAuth: p.clientAuth,
        redirectMode: p.redirectMode ?? 'callback',
        revocable: p.revocationUrl !== undefined,
        source: discovered ? 'discovered' : Object.hasOwn(BUILT_IN_PROVIDERS, p.providerId) ? 'built-in' : 'config',
        ...(discovered ? { url: discovered.url } : {}),
      }
    })
  if (opts.json) {
    out.info(JSON.stringify(rows, null, 2))
    return 0
  }
  const cells = rows.map((r) => [
    r.id,
    r.name,
    r.hasClientId ? (r.hasClientSecret ? 'client id + secret' : 'client id') : 'no client id',
    `${r.usePkce ? 'PKCE' : 'no PKCE'}, auth ${r.clientAuth}${r.url ? `, discovered from ${r.url}` : ''}`,
  ])
  const widths = [0, 1, 2].map((i) => Math.max(...cells.map((r) => (r[i] ?? '').length)))
  for (const r of cells) out.info(r.map((cell, i) => (i < 3 ? cell.padEnd(widths[i] ?? 0) : cell)).join('  '))
  return 0
}
