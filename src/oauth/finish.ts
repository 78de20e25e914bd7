import type { Deps } from '../deps.js'
import { upsertConsent } from '../db/connections.js'
import { finishFlow, type Flow } from '../db/oauth-flows.js'
import { deletePending } from '../db/oauth-pending.js'
import { scrubWal } from '../db/open.js'
import { enqueueOutbox } from '../db/outbox.js'
import { providerName } from '../providers/lookup.js'
import { flowReport } from './report.js'

export type Outcome = { status: 'connected'; grantedScopes: string[] | null } | { status: 'failed'; error: string }

/** Ends an exchanging flow, drops its code and queues the report, in one transaction. */
export function finishExchangingFlow(deps: Pick<Deps, 'db' | 'config'>, flow: Flow, outcome: Outcome, now: number): void {
  deps.db.transaction(() => {
    const ended: Flow =
      outcome.status === 'connected'
        ? { ...flow, status: 'connected', grantedScopes: outcome.grantedScopes, finishedAt: now }
        : { ...flow, status: 'failed', error: outcome.error, finishedAt: now }
    const changed = finishFlow(deps.db, flow.state, now, {
      status: outcome.status,
      ...(outcome.status === 'failed' ? { error: outcome.error } : {}),
      ...(outcome.status === 'connected' && outcome.grantedScopes ? { grantedScopes: outcome.grantedScopes } : {}),
    })
    deletePending(deps.db, flow.state)
    if (!changed) return
    if (outcome.status === 'connected')
      upsertConsent(deps.db, { provider: flow.provider, now, requestedScopes: flow.requestedScopes, grantedScopes: outcome.grantedScopes })
    enqueueOutbox(deps.db, flowReport(ended, now, providerName(deps.config, flow.provider)))
  })()
  scrubWal(deps.db)
}

