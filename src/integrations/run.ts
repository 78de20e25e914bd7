// One run of an integration's sync as its job runs it: the run is recorded (so the chat can tell
// "first sync running" from "no data yet"), then the integration's freshness rule is checked.
import type { Deps } from '../deps.js'
import { recordIntegrationRun } from '../db/integration-runs.js'
import { queueStaleNotices } from './freshness.js'
import type { Integration } from './types.js'

/** Runs `integration.sync`, records the run whatever its outcome, queues late-data notices; returns the sync's summary. */
export async function runIntegrationSync(deps: Deps, integration: Integration, timeZone: string): Promise<unknown> {
  const startedAt = deps.clock.now()
  let result: unknown
  try {
    result = await integration.sync(deps)
  } finally {
    recordIntegrationRun(deps.db, integration.id, startedAt, deps.clock.now())
  }
  queueStaleNotices(deps, [integration], timeZone)
  return result
}
