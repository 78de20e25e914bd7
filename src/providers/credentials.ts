import type { Db } from '../db/open.js'
import { getCredentials } from '../db/provider-credentials.js'
import type { Provider } from './schema.js'

/**
 * The provider with the client credentials the user gave the bot, when the config and the
 * environment have none for it (an explicit config entry wins: it is what the operator wrote).
 * Every place that needs a client id calls this: starting a flow, the code exchange, refresh.
 */
export function withStoredCredentials(db: Db, provider: Provider): Provider {
  if (provider.clientId !== undefined) return provider
  const stored = getCredentials(db, provider.providerId)
  if (!stored) return provider
  return { ...provider, clientId: stored.clientId, ...(stored.clientSecret !== null ? { clientSecret: stored.clientSecret } : {}) }
}
