import { deleteConnection } from '../db/connections.js'
import { deleteCredentials } from '../db/provider-credentials.js'
import type { Deps } from '../deps.js'
import { withStoredCredentials } from '../providers/credentials.js'
import { getProvider } from '../providers/lookup.js'
import { asOAuthEntry, readAuthFile, updateAuthFile, type OAuthEntry } from '../store/auth-json.js'
import { revokeToken, type RevokeOutcome } from './revoke.js'

/** What `disconnectProvider` did; `revocation` is null when there were no tokens to revoke. */
export interface DisconnectOutcome {
  tokensRemoved: boolean
  revocation: RevokeOutcome | null
  credentialsForgotten: boolean
}

/**
 * Disconnects a provider (the chat's /disconnect and `latchkey disconnect`): removes its entry
 * from auth.json under the store's lock (every other key kept as it was), then revokes the removed
 * grant at the provider when it has a revocationUrl (RFC 7009), forgets the connection record and,
 * when asked, the client credentials given in the chat. Throws PROVIDER_UNKNOWN for an unknown id.
 */
export async function disconnectProvider(
  deps: Pick<Deps, 'config' | 'db' | 'http' | 'log'>,
  id: string,
  opts: { forgetCredentials?: boolean } = {},
): Promise<DisconnectOutcome> {
  const provider = withStoredCredentials(deps.db, getProvider(deps.config, id))
  let removed: OAuthEntry | undefined
  if (asOAuthEntry((await readAuthFile(deps.config.authFile))[id]))
    await updateAuthFile(
      deps.config.authFile,
      (current) => {
        removed = asOAuthEntry(current[id])
        const { [id]: _gone, ...rest } = current
        return rest
      },
      deps.log,
    )
  let revocation: RevokeOutcome | null = null
  // Revoking the refresh token ends the whole grant at most providers (RFC 7009 §2.1).
  if (removed) revocation = await revokeToken(deps.http, provider, removed.refresh ?? removed.access, removed.refresh ? 'refresh_token' : 'access_token')
  deleteConnection(deps.db, id)
  const credentialsForgotten = opts.forgetCredentials === true && deleteCredentials(deps.db, id)
  if (removed) deps.log.info({ provider: id, revocation }, 'disconnected')
  return { tokensRemoved: removed !== undefined, revocation, credentialsForgotten }
}

const REVOKE_TEXT: Record<RevokeOutcome, (name: string) => string> = {
  revoked: (name) => `revoked at ${name}`,
  unsupported: (name) => `${name} has no revocation endpoint, so the grant stays valid there until you remove it in your ${name} account`,
  failed: (name) => `revoking at ${name} failed, so remove the grant in your ${name} account`,
}

/** The sentence the chat and the CLI show for an outcome. */
export function describeDisconnect(name: string, outcome: DisconnectOutcome): string {
  const parts: string[] = []
  if (outcome.tokensRemoved) parts.push('tokens removed from auth.json')
  if (outcome.revocation) parts.push(REVOKE_TEXT[outcome.revocation](name))
  if (outcome.credentialsForgotten) parts.push('client id and secret forgotten')
  return parts.length ? `${name} disconnected: ${parts.join('; ')}.` : `${name} was not connected.`
}
