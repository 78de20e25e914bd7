// Where an integration's data stands for one provider, as /glucose and /sleep tell it apart:
// not connected, first sync running, connected without data yet, data.
import { getConnection } from '../db/connections.js'
import { lastRunStartedAt } from '../db/integration-runs.js'
import type { Db } from '../db/open.js'

export type DataPhase = 'not_connected' | 'first_sync' | 'no_data' | 'data'

/**
 * True once a sync run that started after the provider's (latest) consent has finished: the
 * daemon starts one at once when a provider connects, so until then the first sync is running.
 */
export function firstSyncDone(db: Db, integration: string, provider: string): boolean {
  const connection = getConnection(db, provider)
  const started = lastRunStartedAt(db, integration)
  return connection !== undefined && started !== undefined && started >= connection.consentedAt
}

/** The phase of `provider`'s data under `integration`; stored data wins over everything else. */
export function dataPhase(db: Db, integration: string, provider: string, hasData: boolean): DataPhase {
  if (hasData) return 'data'
  if (!getConnection(db, provider)) return 'not_connected'
  return firstSyncDone(db, integration, provider) ? 'no_data' : 'first_sync'
}
