import type { FetchLike } from '@modelcontextprotocol/sdk/shared/transport.js'
import type { Deps } from '../deps.js'
import { getDiscovered, listDiscovered, saveDiscovered, type DiscoveredRow } from '../db/discovered.js'
import { DISCOVERY_MAX_AGE_MS, definitionFor } from './connect-url.js'
import { discover } from './discover.js'
import { discoveryFetch } from './fetch.js'
import { discoveredProvider, installProvider, isConfiguredId } from './install.js'

/** Stored metadata is checked again after this long: before it reaches DISCOVERY_MAX_AGE_MS and goes stale. */
export const REDISCOVER_AFTER_MS = DISCOVERY_MAX_AGE_MS * 0.75

export interface RediscoverSummary {
  updated: string[]
  failed: string[]
}

/**
 * Discovers again every stored discovered provider whose metadata is due (older than
 * REDISCOVER_AFTER_MS), or just `only` whatever its age (an endpoint of it started failing).
 * The new metadata replaces the old and the provider is installed again; a server that now names
 * another issuer, or cannot be reached or checked, keeps the old row (never switch issuers
 * silently: the registered client and the tokens belong to the old one).
 */
export async function rediscoverProviders(
  deps: Pick<Deps, 'config' | 'db' | 'clock' | 'log'>,
  opts: { only?: string; fetchFn?: FetchLike } = {},
): Promise<RediscoverSummary> {
  const { config, db, clock, log } = deps
  const now = clock.now()
  const rows = opts.only
    ? [getDiscovered(db, opts.only)].filter((r): r is DiscoveredRow => r !== undefined)
    : listDiscovered(db).filter((r) => now - r.checkedAt >= REDISCOVER_AFTER_MS)
  const summary: RediscoverSummary = { updated: [], failed: [] }
  const fetchFn = opts.fetchFn ?? discoveryFetch()
  for (const row of rows) {
    if (isConfiguredId(config, db, row.provider)) continue // the config's own entry wins (install.ts)
    try {
      const d = await discover(row.url, fetchFn)
      if (d.issuer !== row.issuer) {
        log.warn({ provider: row.provider, issuer: d.issuer, was: row.issuer }, 'a discovered server now names another issuer; kept the old metadata (reconnect by URL to switch)')
        summary.failed.push(row.provider)
        continue
      }
      const next: DiscoveredRow = { ...row, kind: d.kind, definition: JSON.stringify(definitionFor(d)), metadata: JSON.stringify(d.metadata), checkedAt: clock.now() }
      const provider = discoveredProvider(config, db, next) // throws on unusable metadata, before anything is saved
      saveDiscovered(db, next)
      installProvider(config, provider)
      summary.updated.push(row.provider)
    } catch (err) {
      log.warn({ provider: row.provider, reason: (err as Error).message.slice(0, 200) }, 'discovering a provider again failed; kept the old metadata')
      summary.failed.push(row.provider)
    }
  }
  if (summary.updated.length) log.info({ providers: summary.updated }, 'discovered providers refreshed')
  return summary
}
