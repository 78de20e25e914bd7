import { deleteConnection, getConnection } from '../db/connections.js'
import { deleteRegisteredClient, getDiscovered, listDiscovered } from '../db/discovered.js'
import { deleteCredentials } from '../db/provider-credentials.js'
import { deleteScopeOffers } from '../db/scope-offers.js'
import type { Deps } from '../deps.js'
import { isConfiguredId } from '../discovery/install.js'
import { withStoredCredentials } from '../providers/credentials.js'
import { getProvider } from '../providers/lookup.js'
import { asOAuthEntry, readAuthFile, updateAuthFile, type OAuthEntry } from '../store/auth-json.js'
import { revokeToken, type RevokeOutcome } from './revoke.js'

/** What `disconnectProvider` did; `revocation` is null when there were no tokens to revoke. */
export interface DisconnectOutcome {
  tokensRemoved: boolean
  revocation: RevokeOutcome | null
  credentialsForgotten: boolean
  /** True when the client latchkey registered for this connection (made by URL) was deleted. */
  clientForgotten: boolean
}

/**
 * Disconnects a provider (the chat's /disconnect and `latchkey disconnect`): removes its entry
 * from auth.json under the store's lock (every other key kept as it was), then revokes the removed
 * grant at the provider when it has a revocationUrl (RFC 7009), forgets the connection record and,
 * when asked, the client credentials given in the chat and (for a connection made by URL) the
 * client latchkey registered at its issuer. Throws PROVIDER_UNKNOWN for an unknown id.
 */
export async function disconnectProvider(
  deps: Pick<Deps, 'config' | 'db' | 'http' | 'log'>,
  id: string,
  opts: { forgetCredentials?: boolean; forgetClient?: boolean } = {},
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
  deleteScopeOffers(deps.db, id)
  const credentialsForgotten = opts.forgetCredentials === true && deleteCredentials(deps.db, id)
  // After revoking, which authenticates as that client. Other connections at the same issuer share it.
  const clientForgotten = opts.forgetClient === true && forgetRegisteredClient(deps, id)
  if (removed) deps.log.info({ provider: id, revocation }, 'disconnected')
  return { tokensRemoved: removed !== undefined, revocation, credentialsForgotten, clientForgotten }
}

/** Deletes the registered client of a discovered connection unless another connection at its issuer is connected. */
function forgetRegisteredClient(deps: Pick<Deps, 'config' | 'db' | 'log'>, id: string): boolean {
  const row = isConfiguredId(deps.config, deps.db, id) ? undefined : getDiscovered(deps.db, id)
  if (!row) return false
  const sharing = listDiscovered(deps.db).filter((r) => r.issuer === row.issuer && r.provider !== id && getConnection(deps.db, r.provider) !== undefined)
  if (sharing.length) {
    deps.log.warn({ provider: id, sharedWith: sharing.map((r) => r.provider) }, 'registered client kept: another connection at the same server uses it')
    return false
  }
  return deleteRegisteredClient(deps.db, row.issuer)
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
  if (outcome.clientForgotten) parts.push('registered client deleted')
  return parts.length ? `${name} disconnected: ${parts.join('; ')}.` : `${name} was not connected.`
}
