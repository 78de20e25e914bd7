import type { Provider } from '../providers/schema.js'
import { codeChallengeS256 } from './random.js'

/**
 * The provider's authorization URL for one flow: always response_type=code (no implicit flow),
 * S256 only, and the exact redirect URI that the token request repeats (RFC 6749 §4.1.3).
 */
export function buildAuthorizationUrl(
  provider: Pick<Provider, 'authorizationUrl' | 'clientId' | 'scopes' | 'scopeSeparator' | 'extraParams'>,
  flow: { state: string; redirectUri: string; codeVerifier: string | null },
): string {
  const url = new URL(provider.authorizationUrl)
  for (const [key, value] of Object.entries(provider.extraParams)) url.searchParams.set(key, value)
  url.searchParams.set('response_type', 'code')
  url.searchParams.set('client_id', provider.clientId ?? '')
  url.searchParams.set('redirect_uri', flow.redirectUri)
  if (provider.scopes.length) url.searchParams.set('scope', provider.scopes.join(provider.scopeSeparator))
  url.searchParams.set('state', flow.state)
  if (flow.codeVerifier) {
    url.searchParams.set('code_challenge', codeChallengeS256(flow.codeVerifier))
    url.searchParams.set('code_challenge_method', 'S256')
  }
  return url.toString()
}

/** A token-endpoint request, built without I/O so it can be checked in tests. */
export interface TokenRequest {
  url: string
  form: Record<string, string>
  headers: Record<string, string>
}

export type TokenGrant =
  | { grantType: 'authorization_code'; code: string; redirectUri: string; codeVerifier: string | null }
  | { grantType: 'refresh_token'; refreshToken: string }
  | { grantType: 'device_code'; deviceCode: string }

// RFC 6749 §2.3.1: id and secret are form-urlencoded before they are joined for Basic.
const formEncode = (s: string): string => encodeURIComponent(s).replace(/%20/g, '+')

/** Builds the token request for a grant with the provider's client authentication and extra params. */
export function buildTokenRequest(
  provider: Pick<Provider, 'tokenUrl' | 'clientId' | 'clientSecret' | 'clientAuth' | 'tokenParams' | 'refreshParams'>,
  grant: TokenGrant,
  tokenUrl: string = provider.tokenUrl,
): TokenRequest {
  const form: Record<string, string> =
    grant.grantType === 'authorization_code'
      ? {
          ...provider.tokenParams,
          grant_type: 'authorization_code',
          code: grant.code,
          redirect_uri: grant.redirectUri,
          ...(grant.codeVerifier ? { code_verifier: grant.codeVerifier } : {}),
        }
      : grant.grantType === 'refresh_token'
        ? { ...provider.refreshParams, grant_type: 'refresh_token', refresh_token: grant.refreshToken }
        : { grant_type: 'urn:ietf:params:oauth:grant-type:device_code', device_code: grant.deviceCode }
  return { url: tokenUrl, ...withClientAuth(provider, form) }
}

/**
 * Adds the provider's client authentication to a request to one of its endpoints: HTTP Basic
 * or client_id (+ client_secret) in the form (RFC 6749 §2.3.1). Asks for JSON, since GitHub
 * answers form-encoded otherwise.
 */
export function withClientAuth(
  provider: Pick<Provider, 'clientId' | 'clientSecret' | 'clientAuth'>,
  form: Record<string, string>,
): { form: Record<string, string>; headers: Record<string, string> } {
  const headers: Record<string, string> = { accept: 'application/json' }
  const clientId = provider.clientId ?? ''
  if (provider.clientAuth === 'basic' && provider.clientSecret !== undefined) {
    headers.authorization = `Basic ${Buffer.from(`${formEncode(clientId)}:${formEncode(provider.clientSecret)}`).toString('base64')}`
    return { form, headers }
  }
  return { form: { ...form, client_id: clientId, ...(provider.clientSecret !== undefined ? { client_secret: provider.clientSecret } : {}) }, headers }
}
