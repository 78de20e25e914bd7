import { sdkAuth } from './sdk-auth.js'
import type { AuthorizationServerMetadata, OAuthClientMetadata } from '@modelcontextprotocol/sdk/shared/auth.js'
import type { FetchLike } from '@modelcontextprotocol/sdk/shared/transport.js'
import { AppError, isAppError } from '../errors.js'
import type { RegisteredClient } from '../db/discovered.js'
import { hostOf, isSecureUrl } from './fetch.js'

/**
 * The token-endpoint authentication latchkey asks for: a secret in HTTP Basic, else in the form,
 * else a public client (PKCE only). RFC 8414 §2: an absent list means client_secret_basic.
 */
export function chooseClientAuth(metadata: Pick<AuthorizationServerMetadata, 'token_endpoint_auth_methods_supported'>): RegisteredClient['clientAuth'] {
  const supported = metadata.token_endpoint_auth_methods_supported ?? ['client_secret_basic']
  if (supported.includes('client_secret_basic')) return 'basic'
  if (supported.includes('client_secret_post')) return 'body'
  if (supported.includes('none')) return 'none'
  throw new AppError('DISCOVERY_REFUSED', `supports none of latchkey's client authentication methods (${supported.slice(0, 5).join(', ')})`)
}

const METHOD = { basic: 'client_secret_basic', body: 'client_secret_post', none: 'none' } as const

/**
 * Registers latchkey at the server (RFC 7591) with the exact redirect URI, client_name
 * "latchkey", application_type "web" (a server-side app) and the auth method the server
 * supports; checks the answer names that redirect URI. Only the OAuth error code of a refusal is
 * shown: the description comes from a server we do not trust yet.
 */
export async function registerLatchkey(
  issuer: string,
  metadata: AuthorizationServerMetadata,
  redirectUri: string,
  scopes: string[],
  fetchFn: FetchLike,
  now: number,
): Promise<RegisteredClient> {
  const host = hostOf(metadata.registration_endpoint ?? issuer)
  let auth: RegisteredClient['clientAuth']
  try {
    auth = chooseClientAuth(metadata)
  } catch (err) {
    throw new AppError('DISCOVERY_REFUSED', `${host} ${(err as Error).message}`)
  }
  const registrable = scopes.filter((scope) => metadata.scopes_supported?.includes(scope))
  // application_type is OpenID Connect Registration's (the SDK's type lacks it); "web": a server-side app.
  const clientMetadata: OAuthClientMetadata & { application_type: string } = {
    redirect_uris: [redirectUri],
    client_name: 'latchkey',
    grant_types: ['authorization_code', 'refresh_token'],
    response_types: ['code'],
    token_endpoint_auth_method: METHOD[auth],
    application_type: 'web',
    // Only scopes the server lists: a resource server's own scopes are not the authorization server's to register.
    ...(registrable.length ? { scope: registrable.join(' ') } : {}),
  }
  const { registerClient } = await sdkAuth()
  // The SDK's parse strips RFC 7592's registration_client_uri and registration_access_token: read them from the raw answer.
  let raw: unknown
  const keepRaw: FetchLike = async (input, init) => {
    const res = await fetchFn(input, init)
    if (res.ok) raw = await res.clone().json().catch(() => undefined)
    return res
  }
  let answer
  try {
    answer = await registerClient(issuer, { metadata, fetchFn: keepRaw, clientMetadata })
  } catch (err) {
    if (isAppError(err)) throw err
    const code = (err as { errorCode?: string }).errorCode
    const detail = code && /^[a-z_]{1,64}$/.test(code) ? code : 'an invalid answer'
    throw new AppError('DISCOVERY_REFUSED', `${host} refused to register latchkey as a client (${detail})`)
  }
  if (answer.redirect_uris && !answer.redirect_uris.includes(redirectUri))
    throw new AppError('DISCOVERY_REFUSED', `${host} registered latchkey with a different redirect URI; refused`)
  const granted = answer.token_endpoint_auth_method
  const clientAuth = granted === 'client_secret_post' ? 'body' : granted === 'none' ? 'none' : granted === 'client_secret_basic' ? 'basic' : auth
  if (clientAuth !== 'none' && !answer.client_secret)
    throw new AppError('DISCOVERY_REFUSED', `${host} registered a confidential client without a secret; refused`)
  return {
    issuer,
    clientId: answer.client_id,
    clientSecret: clientAuth === 'none' ? null : (answer.client_secret ?? null),
    clientAuth,
    redirectUri,
    registeredAt: now,
    ...managementOf(raw, metadata.registration_endpoint),
  }
}

/**
 * RFC 7592 §3: the registration answer's management URI and access token, kept only when the URI
 * is https (loopback http aside) on the registration endpoint's own origin (the token goes nowhere else).
 */
export function managementOf(raw: unknown, registrationEndpoint: string | undefined): Pick<RegisteredClient, 'management'> {
  const { registration_client_uri: uri, registration_access_token: accessToken } = (raw ?? {}) as Record<string, unknown>
  if (typeof uri !== 'string' || typeof accessToken !== 'string' || !accessToken || !registrationEndpoint || !isSecureUrl(uri)) return {}
  return new URL(uri).origin === new URL(registrationEndpoint).origin ? { management: { uri, accessToken } } : {}
}
