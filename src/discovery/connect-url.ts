import type { AuthorizationServerMetadata } from '@modelcontextprotocol/sdk/shared/auth.js'
import type { FetchLike } from '@modelcontextprotocol/sdk/shared/transport.js'
import type { Deps } from '../deps.js'
import { getDiscovered, getDiscoveredByUrl, getRegisteredClient, saveDiscovered, saveRegisteredClient, type DiscoveredRow } from '../db/discovered.js'
import { getCredentials } from '../db/provider-credentials.js'
import { AppError } from '../errors.js'
import { buildProvider, type Provider, type ProviderOverride } from '../providers/schema.js'
import { advertisesIss, canonicalUrl, discover, extraField, type Discovery } from './discover.js'
import { discoveryFetch, hostOf } from './fetch.js'
import { discoveredProvider, installProvider, isConfiguredId, urlEntryFor } from './install.js'
import { deriveProviderId } from './provider-id.js'
import { registerLatchkey } from './register.js'

/** Discovered metadata is reused for this long, then discovered again at the next connect. */
export const DISCOVERY_MAX_AGE_MS = 24 * 60 * 60 * 1000

/** A URL made ready for a flow, or waiting for client credentials from the user. */
export type PreparedUrl = {
  provider: Provider
  /** Where the user signs in (the authorization endpoint's host). */
  signInHost: string
  /** The server the connection is for (the MCP server's or the issuer's host). */
  serverHost: string
  /** True when stored metadata was used without contacting the server. */
  cached: boolean
} & ({ kind: 'ready' } | { kind: 'needs_client'; registrationPage?: string })

/** The provider fields for what discovery found (also used by re-discovery): RFC 8707 `resource` on all three requests of an MCP connection. */
export function definitionFor(d: Pick<Discovery, 'kind' | 'url' | 'resource' | 'issuer' | 'metadata' | 'scopes'>): ProviderOverride {
  const resource: Record<string, string> = d.resource ? { resource: d.resource } : {}
  const revocationUrl = extraField(d.metadata, 'revocation_endpoint')
  const docsUrl = d.metadata.service_documentation
  return {
    displayName: hostOf(d.kind === 'mcp' ? d.url : d.issuer),
    authorizationUrl: d.metadata.authorization_endpoint,
    tokenUrl: d.metadata.token_endpoint,
    scopes: d.scopes,
    usePkce: true,
    extraParams: resource,
    tokenParams: resource,
    refreshParams: resource,
    issuer: d.issuer,
    requireIss: advertisesIss(d.metadata),
    rotation: 'rotating',
    ...(d.kind === 'mcp' ? { apiBaseUrl: d.url } : {}),
    ...(revocationUrl ? { revocationUrl } : {}),
    ...(docsUrl ? { docsUrl } : {}),
  }
}

/**
 * "connect <url>" up to the point a flow can start: discovery (or fresh stored metadata), a
 * stable provider id, client identity (the user's credentials for this id, the client registered
 * at this issuer, else Dynamic Client Registration), then the provider stored and installed.
 * Anything refused throws an AppError (DISCOVERY_REFUSED, DISCOVERY_FAILED, PROVIDER_UNREACHABLE)
 * with nothing stored.
 */
export async function prepareUrlConnection(
  deps: Pick<Deps, 'config' | 'db' | 'clock' | 'log'>,
  url: string,
  opts: { fetchFn?: FetchLike } = {},
): Promise<PreparedUrl> {
  const { config, db, clock } = deps
  const fetchFn = opts.fetchFn ?? discoveryFetch()
  const target = canonicalUrl(url)
  const now = clock.now()
  const stored = getDiscoveredByUrl(db, target)
  const cached = stored !== undefined && now - stored.checkedAt < DISCOVERY_MAX_AGE_MS
  let found: Pick<Discovery, 'kind' | 'issuer' | 'metadata'> & { definition: ProviderOverride }
  if (stored && cached) {
    found = { kind: stored.kind, issuer: stored.issuer, metadata: JSON.parse(stored.metadata) as AuthorizationServerMetadata, definition: JSON.parse(stored.definition) as ProviderOverride }
  } else {
    const d = await discover(target, fetchFn)
    found = { ...d, definition: definitionFor(d) }
  }
  // A config entry with this url names the connection; derived ids avoid every config entry's id.
  const configured = urlEntryFor(config, target)
  const id =
    stored?.provider ??
    configured?.id ??
    deriveProviderId(
      target,
      (candidate) => isConfiguredId(config, db, candidate) || Object.hasOwn(config.urlProviders, candidate) || (getDiscovered(db, candidate)?.url ?? target) !== target,
    )
  try {
    buildProvider(id, found.definition)
  } catch (err) {
    const issue = (err as { issues?: { path: PropertyKey[]; message: string }[] }).issues?.[0]
    throw new AppError('DISCOVERY_REFUSED', `${hostOf(found.issuer)}: unusable metadata (${issue ? `${issue.path.join('.')}: ${issue.message}` : 'invalid'})`.slice(0, 300))
  }

  let registered = getRegisteredClient(db, found.issuer)
  if (registered && registered.redirectUri !== config.redirectUri) registered = undefined // registered for another address
  const fresh =
    !registered && !configured && !getCredentials(db, id) && found.metadata.registration_endpoint
      ? await registerLatchkey(found.issuer, found.metadata, config.redirectUri, found.definition.scopes ?? [], fetchFn, now)
      : undefined

  const row: DiscoveredRow = {
    provider: id,
    url: target,
    kind: found.kind,
    issuer: found.issuer,
    definition: JSON.stringify(found.definition),
    metadata: JSON.stringify(found.metadata),
    discoveredAt: stored?.discoveredAt ?? now,
    checkedAt: cached && stored ? stored.checkedAt : now,
  }
  db.transaction(() => {
    if (fresh) saveRegisteredClient(db, fresh)
    saveDiscovered(db, row)
  })()
  const provider = discoveredProvider(config, db, row)
  installProvider(config, provider)
  deps.log.info({ provider: id, kind: found.kind, cached, registered: fresh !== undefined }, 'provider discovered from a URL')

  const hosts = { signInHost: hostOf(provider.authorizationUrl), serverHost: hostOf(target), cached }
  if (provider.clientId !== undefined) return { kind: 'ready', provider, ...hosts }
  const page = found.metadata.service_documentation
  return { kind: 'needs_client', provider, ...hosts, ...(page ? { registrationPage: page } : {}) }
}
