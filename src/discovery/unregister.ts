import type { RegisteredClient } from '../db/discovered.js'
import { DISCOVERY_TIMEOUT_MS, isSecureUrl } from './fetch.js'

/** What deleting a registered client at its server came to (RFC 7592); `unsupported` when the server offers no way to. */
export type ClientDeletion = 'deleted' | 'unsupported' | 'failed'

/**
 * RFC 7592 §2.3: one DELETE of the client's configuration endpoint with its registration access
 * token; never retried, redirects not followed, and no error detail kept (a request error can
 * carry the token).
 */
export async function deleteClientAtServer(management: RegisteredClient['management'], fetchFn: typeof fetch = fetch): Promise<ClientDeletion> {
  if (!management) return 'unsupported'
  if (!isSecureUrl(management.uri)) return 'failed'
  try {
    const res = await fetchFn(management.uri, {
      method: 'DELETE',
      headers: { authorization: `Bearer ${management.accessToken}` },
      redirect: 'manual',
      signal: AbortSignal.timeout(DISCOVERY_TIMEOUT_MS),
    })
    await res.body?.cancel()
    if (res.status >= 200 && res.status < 300) return 'deleted'
    // A configuration endpoint that can be read but not deleted (RFC 7592 makes DELETE optional);
    // a client that no longer exists would be 401 (§2.3).
    return res.status === 404 || res.status === 405 || res.status === 501 ? 'unsupported' : 'failed'
  } catch {
    return 'failed'
  }
}
