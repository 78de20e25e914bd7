import type { HttpClient } from '../deps.js'
import type { Provider } from '../providers/schema.js'

export type RevokeOutcome = 'revoked' | 'unsupported' | 'failed'

// RFC 6749 §2.3.1: id and secret are form-urlencoded before they are joined for Basic.
const formEncode = (s: string): string => encodeURIComponent(s).replace(/%20/g, '+')

/**
 * RFC 7009 token revocation, best effort: one POST with the provider's client authentication,
 * never retried, and no error detail kept (got errors carry the request body, i.e. the token).
 */
export async function revokeToken(
  http: HttpClient,
  provider: Pick<Provider, 'revocationUrl' | 'clientId' | 'clientSecret' | 'clientAuth'>,
  token: string,
  hint: 'refresh_token' | 'access_token',
): Promise<RevokeOutcome> {
  if (!provider.revocationUrl) return 'unsupported'
  const form: Record<string, string> = { token, token_type_hint: hint }
  const headers: Record<string, string> = { accept: 'application/json' }
  const clientId = provider.clientId ?? ''
  if (provider.clientAuth === 'basic' && provider.clientSecret !== undefined)
    headers.authorization = `Basic ${Buffer.from(`${formEncode(clientId)}:${formEncode(provider.clientSecret)}`).toString('base64')}`
  else {
    form.client_id = clientId
    if (provider.clientSecret !== undefined) form.client_secret = provider.clientSecret
  }
  try {
    const res = await http.post(provider.revocationUrl, { form, headers, throwHttpErrors: false, followRedirect: false, retry: { limit: 0 } })
    // §2.2: 200 also for a token that was already invalid.
    return res.statusCode === 200 ? 'revoked' : 'failed'
  } catch {
    return 'failed'
  }
}
