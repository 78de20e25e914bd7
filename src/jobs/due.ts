// Whether a scheduled job has anything to do, asked in the daemon's thread before Bree starts
// a worker for it: a fresh or quiet daemon (nothing connected, no flow open) starts none.
import type { Config } from '../config.js'
import type { Db } from '../db/open.js'
import type { Integration } from '../integrations/types.js'
import { asOAuthEntry, readAuthFile } from '../store/auth-json.js'

/** resolve-pending: a flow to resolve, poll, expire or purge, or a code waiting for one. */
export function flowsToResolve(db: Db): boolean {
  return (
    db.prepare('SELECT EXISTS (SELECT 1 FROM oauth_flows) OR EXISTS (SELECT 1 FROM oauth_pending) OR EXISTS (SELECT 1 FROM device_flows)').pluck().get() === 1
  )
}

/** refresh-tokens: it renews only connections latchkey knows, and re-discovers discovered providers. */
export function connectionsToRefresh(db: Db): boolean {
  return db.prepare('SELECT EXISTS (SELECT 1 FROM connections) OR EXISTS (SELECT 1 FROM discovered_providers)').pluck().get() === 1
}

/** An integration's sync: one of its providers has tokens in auth.json (however they got there). */
export async function integrationConnected(config: Config, integration: Integration): Promise<boolean> {
  const auth = await readAuthFile(config.authFile)
  return integration.providerIds(config).some((id) => asOAuthEntry(auth[id]) !== undefined)
}
