import type { Config } from '../config.js'
import type { Db } from '../db/open.js'
import { getDiscovered, getRegisteredClient, listDiscovered, type DiscoveredRow } from '../db/discovered.js'
import { getCredentials } from '../db/provider-credentials.js'
import type { Logger } from '../log.js'
import { BUILT_IN_PROVIDERS } from '../providers/catalog.js'
import { buildProvider, type Provider, type ProviderOverride } from '../providers/schema.js'
import type { UrlProviderEntry } from '../providers/url-entry.js'
import { canonicalUrl } from './discover.js'

/** The config's `providers.<id>` entry whose `url` is this canonical URL, with its id. */
export function urlEntryFor(config: Pick<Config, 'urlProviders'>, url: string): (UrlProviderEntry & { id: string }) | undefined {
  const found = Object.entries(config.urlProviders).find(([, e]) => canonicalUrl(e.url) === url)
  return found ? { ...found[1], id: found[0] } : undefined
}

/**
 * The Provider for a discovered row. Client identity: the config's `providers.<id>` entry with
 * this url first, then credentials the user gave the chat for this id, else the client latchkey
 * registered at exactly this row's issuer.
 */
export function discoveredProvider(config: Pick<Config, 'urlProviders'>, db: Db, row: DiscoveredRow): Provider {
  const definition = JSON.parse(row.definition) as ProviderOverride
  const preset = urlEntryFor(config, row.url)
  const given = preset ? { clientId: preset.clientId, clientSecret: preset.clientSecret ?? null } : getCredentials(db, row.provider)
  const registered = given ? undefined : getRegisteredClient(db, row.issuer)
  const client: ProviderOverride = given
    ? { clientId: given.clientId, ...(given.clientSecret !== null ? { clientSecret: given.clientSecret } : {}), ...(preset?.clientAuth ? { clientAuth: preset.clientAuth } : {}) }
    : registered
      ? { clientId: registered.clientId, ...(registered.clientSecret !== null ? { clientSecret: registered.clientSecret } : {}), clientAuth: registered.clientAuth === 'basic' ? 'basic' : 'body' }
      : {}
  return buildProvider(row.provider, definition, client)
}

/** Makes a provider visible to every surface that looks providers up in the config. */
export function installProvider(config: Config, provider: Provider): void {
  // The one place config.providers grows after start-up (it is otherwise read-only).
  ;(config.providers as Record<string, Provider>)[provider.providerId] = provider
}

/** True when `id` belongs to a built-in or configured provider (which a discovered one never shadows). */
export function isConfiguredId(config: Config, db: Db, id: string): boolean {
  return Object.hasOwn(BUILT_IN_PROVIDERS, id) || (Object.hasOwn(config.providers, id) && getDiscovered(db, id) === undefined)
}

/**
 * Adds every stored discovered provider to the config (at start-up of the daemon, a job or a
 * CLI command), except one whose id the config now uses itself (for another issuer).
 */
export function installDiscoveredProviders(config: Config, db: Db, log?: Logger): void {
  for (const row of listDiscovered(db)) {
    // A job worker gets the daemon's config with the discovered providers already in it: those
    // (same issuer) are installed again from SQLite, which is the fresher copy.
    if (Object.hasOwn(config.providers, row.provider) && config.providers[row.provider]?.issuer !== row.issuer) {
      log?.warn({ provider: row.provider }, 'a configured provider has the id of a discovered one; the configured one wins')
      continue
    }
    try {
      installProvider(config, discoveredProvider(config, db, row))
    } catch (err) {
      log?.warn({ provider: row.provider, reason: (err as Error).message.slice(0, 200) }, 'a stored discovered provider is invalid; skipped')
    }
  }
}
