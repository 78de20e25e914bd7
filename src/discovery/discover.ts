import type { AuthorizationServerMetadata, OAuthProtectedResourceMetadata } from '@modelcontextprotocol/sdk/shared/auth.js'
import type { FetchLike } from '@modelcontextprotocol/sdk/shared/transport.js'
import { AppError, isAppError } from '../errors.js'
import { hostOf, isSecureUrl } from './fetch.js'
import { sdkAuth } from './sdk-auth.js'

/** What discovery found behind a URL, checked (mcp-auth.md §1). */
export interface Discovery {
  /** `mcp`: the URL is a protected resource (RFC 9728); `issuer`: it is an authorization server. */
  kind: 'mcp' | 'issuer'
  /** The URL as typed, canonicalised. */
  url: string
  /** RFC 8707 resource indicator: the canonical MCP server URL (mcp only). */
  resource?: string
  issuer: string
  metadata: AuthorizationServerMetadata
  /** Scopes to request: the challenge's, else the resource's scopes_supported; offline_access when advertised. */
  scopes: string[]
}

/**
 * Canonical form of a server URL (mcp-auth.md §1.6): scheme and host lower-case (URL does it),
 * no fragment, no trailing slash on a bare origin. Throws DISCOVERY_REFUSED for anything but an
 * https URL (or http on this machine) without credentials.
 */
export function canonicalUrl(value: string): string {
  let url: URL
  try {
    url = new URL(value.trim())
  } catch {
    throw new AppError('DISCOVERY_REFUSED', `not a URL: ${JSON.stringify(value.slice(0, 80))}`)
  }
  if (!isSecureUrl(url.href))
    throw new AppError('DISCOVERY_REFUSED', `${url.protocol === 'http:' ? `plain http to ${url.host}` : `a ${url.protocol} URL`} is not allowed: use https`)
  if (url.username || url.password) throw new AppError('DISCOVERY_REFUSED', 'the URL must not carry a user name or password')
  url.hash = ''
  return url.pathname === '/' && !url.search ? url.origin : url.href
}

// An MCP initialize request: what an MCP client sends first, so a protected server answers 401.
const PROBE_BODY = JSON.stringify({
  jsonrpc: '2.0',
  id: 0,
  method: 'initialize',
  params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'latchkey', version: '1' } },
})

/** Wraps what the SDK throws (plain Errors, zod errors) into one plain message; AppErrors pass. */
function wrap(what: string, host: string, err: unknown): AppError {
  if (isAppError(err)) return err
  const issue = (err as { issues?: { path: PropertyKey[]; message: string }[] }).issues?.[0]
  const detail = issue ? `${issue.path.map(String).join('.') || 'document'}: ${issue.message}` : (err as Error).message
  return new AppError('DISCOVERY_FAILED', `${host}: ${what} (${detail.slice(0, 160)})`)
}

/**
 * Finds the authorization server behind `url` exactly as mcp-auth.md §1 lays out: an MCP server's
 * 401 challenge and RFC 9728 metadata (the SDK tries the path-aware, then the root well-known), or,
 * when the URL answers without a challenge, the URL itself as an issuer (RFC 8414 / OIDC with the
 * three path-insertion forms). Every check is in checkAuthorizationServer.
 */
export async function discover(url: string, fetchFn: FetchLike): Promise<Discovery> {
  const target = canonicalUrl(url)
  const host = hostOf(target)
  const { discoverOAuthProtectedResourceMetadata, extractWWWAuthenticateParams } = await sdkAuth()
  const probe = await fetchFn(target, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
    body: PROBE_BODY,
  })
  await probe.body?.cancel()
  if (probe.status === 401) {
    const challenge = extractWWWAuthenticateParams(probe)
    let prm: OAuthProtectedResourceMetadata
    try {
      prm = await discoverOAuthProtectedResourceMetadata(target, { resourceMetadataUrl: challenge.resourceMetadataUrl }, fetchFn)
    } catch (err) {
      throw wrap('asks for a token but its protected-resource metadata (RFC 9728) is missing or invalid', host, err)
    }
    // RFC 9728 §3.3: the document must be about the resource we asked, or a token could go elsewhere.
    let named: string
    try {
      named = canonicalUrl(prm.resource)
    } catch {
      named = prm.resource
    }
    if (named !== target)
      throw new AppError('DISCOVERY_REFUSED', `${host}: its protected-resource metadata is for another resource (${JSON.stringify(prm.resource.slice(0, 120))}); refused`)
    const issuer = prm.authorization_servers?.[0]
    if (!issuer) throw new AppError('DISCOVERY_FAILED', `${host}: its protected-resource metadata names no authorization server`)
    const metadata = await fetchAuthorizationServer(issuer, fetchFn)
    if (!metadata) throw new AppError('DISCOVERY_FAILED', `${hostOf(issuer)}: no authorization server metadata (RFC 8414 or OpenID Connect) found`)
    checkAuthorizationServer(metadata, [issuer])
    const requested = challenge.scope?.split(' ').filter(Boolean) ?? prm.scopes_supported ?? []
    return { kind: 'mcp', url: target, resource: target, issuer, metadata, scopes: withOfflineAccess(requested, metadata) }
  }
  const metadata = await fetchAuthorizationServer(target, fetchFn)
  if (!metadata)
    throw new AppError('DISCOVERY_FAILED', `${host}: found no OAuth there (no 401 challenge with resource metadata, and no authorization server metadata)`)
  // The issuer identifier is the URL the well-known was built from; a typed trailing slash is not part of it.
  checkAuthorizationServer(metadata, [target, url.trim()])
  const openid = metadata.scopes_supported?.includes('openid') ? ['openid'] : []
  return { kind: 'issuer', url: target, issuer: metadata.issuer, metadata, scopes: withOfflineAccess(openid, metadata) }
}

async function fetchAuthorizationServer(issuer: string, fetchFn: FetchLike): Promise<AuthorizationServerMetadata | undefined> {
  const { discoverAuthorizationServerMetadata } = await sdkAuth()
  try {
    return await discoverAuthorizationServerMetadata(issuer, { fetchFn })
  } catch (err) {
    throw wrap('its authorization server metadata is invalid', hostOf(issuer), err)
  }
}

/** mcp-auth.md §1.8: offline_access only when the authorization server lists it. */
function withOfflineAccess(scopes: string[], metadata: AuthorizationServerMetadata): string[] {
  const advertised = metadata.scopes_supported?.includes('offline_access') ?? false
  const rest = scopes.filter((s) => s !== 'offline_access')
  return advertised ? [...rest, 'offline_access'] : rest
}

/**
 * The refusals of mcp-auth.md §1 and the issue: the document's issuer must be exactly the one
 * its URL was built from (RFC 8414 §3.3), S256 PKCE must be offered, and every endpoint latchkey
 * will call or send the user to must be https (loopback http aside).
 */
export function checkAuthorizationServer(metadata: AuthorizationServerMetadata, expectedIssuers: string[]): void {
  const host = hostOf(expectedIssuers[0] ?? '')
  if (!expectedIssuers.includes(metadata.issuer))
    throw new AppError('DISCOVERY_REFUSED', `${host}: its metadata names the issuer ${JSON.stringify(metadata.issuer.slice(0, 120))}, not ${JSON.stringify(expectedIssuers[0])}; refused (RFC 8414 §3.3)`)
  if (!metadata.code_challenge_methods_supported?.includes('S256'))
    throw new AppError('DISCOVERY_REFUSED', `${host} does not offer PKCE with S256 (code_challenge_methods_supported), which latchkey requires; refused`)
  if (metadata.response_types_supported && !metadata.response_types_supported.includes('code'))
    throw new AppError('DISCOVERY_REFUSED', `${host} does not offer the authorization code flow`)
  const endpoints = {
    authorization_endpoint: metadata.authorization_endpoint,
    token_endpoint: metadata.token_endpoint,
    registration_endpoint: metadata.registration_endpoint,
    revocation_endpoint: extraField(metadata, 'revocation_endpoint'),
  }
  for (const [name, value] of Object.entries(endpoints))
    if (value !== undefined && !isSecureUrl(value))
      throw new AppError('DISCOVERY_REFUSED', `${host}: its ${name} (${hostOf(value)}) is not https; refused`)
}

/** A string field the SDK's OpenID schema does not declare (revocation_endpoint, RFC 7009). */
export function extraField(metadata: AuthorizationServerMetadata, name: string): string | undefined {
  const value = (metadata as Record<string, unknown>)[name]
  return typeof value === 'string' ? value : undefined
}

/** RFC 9207 §3: the server says every authorization response carries `iss`. */
export function advertisesIss(metadata: AuthorizationServerMetadata): boolean {
  return (metadata as Record<string, unknown>).authorization_response_iss_parameter_supported === true
}
