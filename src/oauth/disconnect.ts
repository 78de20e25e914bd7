import { deleteConnection, getConnection } from '../db/connections.js'
import { deleteRegisteredClient, getDiscovered, getRegisteredClient, listDiscovered, type RegisteredClient } from '../db/discovered.js'
import { deleteCredentials } from '../db/provider-credentials.js'
import { deleteScopeOffers } from '../db/scope-offers.js'
import type { Deps } from '../deps.js'
import { hostOf } from '../discovery/fetch.js'
import { isConfiguredId } from '../discovery/install.js'
import { deleteClientAtServer, type ClientDeletion } from '../discovery/unregister.js'
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
  /**
   * When the client was forgotten: the server's host and whether it was deleted there too
   * (RFC 7592), or only here because the server offers no way (`unsupported`) or refused (`failed`).
   */
  clientDeletion: { server: string; result: ClientDeletion } | null
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
  const clientDeletion = opts.forgetClient === true ? await forgetRegisteredClient(deps, id) : null
  if (removed) deps.log.info({ provider: id, revocation, ...(clientDeletion ? { clientDeletion: clientDeletion.result } : {}) }, 'disconnected')
  return { tokensRemoved: removed !== undefined, revocation, credentialsForgotten, clientForgotten: clientDeletion !== null, clientDeletion }
}

/** The client latchkey registered for a discovered connection, unless another connection at its issuer is connected. */
export function forgettableClient(deps: Pick<Deps, 'config' | 'db'>, id: string): RegisteredClient | undefined {
  const row = isConfiguredId(deps.config, deps.db, id) ? undefined : getDiscovered(deps.db, id)
  if (!row) return undefined
  const sharing = listDiscovered(deps.db).some((r) => r.issuer === row.issuer && r.provider !== id && getConnection(deps.db, r.provider) !== undefined)
  return sharing ? undefined : getRegisteredClient(deps.db, row.issuer)
}

/**
 * Deletes the registered client of a discovered connection: at its server first when the server
 * supports RFC 7592, then here (whatever the server said: the user asked to forget it). Kept when
 * another connection at the same issuer uses it (null then).
 */
async function forgetRegisteredClient(deps: Pick<Deps, 'config' | 'db' | 'log'>, id: string): Promise<DisconnectOutcome['clientDeletion']> {
  const client = forgettableClient(deps, id)
  if (!client) {
    if (getDiscovered(deps.db, id)) deps.log.warn({ provider: id }, 'registered client kept: none stored, or another connection at the same server uses it')
    return null
  }
  const result = await deleteClientAtServer(client.management)
  deleteRegisteredClient(deps.db, client.issuer)
  if (result === 'failed') deps.log.warn({ provider: id, server: hostOf(client.issuer) }, 'deleting the registered client at its server failed; forgotten here')
  return { server: hostOf(client.management?.uri ?? client.issuer), result }
}

const REVOKE_TEXT: Record<RevokeOutcome, (name: string) => string> = {
  revoked: (name) => `revoked at ${name}`,
  unsupported: (name) => `${name} has no revocation endpoint, so the grant stays valid there until you remove it in your ${name} account`,
  failed: (name) => `revoking at ${name} failed, so remove the grant in your ${name} account`,
}

const CLIENT_TEXT: Record<ClientDeletion, (server: string) => string> = {
  deleted: (server) => `latchkey's registered client deleted here and at ${server}`,
  unsupported: (server) => `latchkey's registered client forgotten here only (${server} offers no way to delete it, RFC 7592; it stays registered there)`,
  failed: (server) => `latchkey's registered client forgotten here, but deleting it at ${server} failed (it stays registered there)`,
}

/** The sentence the chat and the CLI show for an outcome. */
export function describeDisconnect(name: string, outcome: DisconnectOutcome): string {
  const parts: string[] = []
  if (outcome.tokensRemoved) parts.push('tokens removed from auth.json')
  if (outcome.revocation) parts.push(REVOKE_TEXT[outcome.revocation](name))
  if (outcome.credentialsForgotten) parts.push('client id and secret forgotten')
  if (outcome.clientDeletion) parts.push(CLIENT_TEXT[outcome.clientDeletion.result](outcome.clientDeletion.server))
  return parts.length ? `${name} disconnected: ${parts.join('; ')}.` : `${name} was not connected.`
}
