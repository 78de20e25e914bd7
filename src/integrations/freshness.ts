// The freshness rules on the seam: which connected providers' data is late (status shows it),
// and the chat notice about it, at most one per provider per day in the user's time zone.
import { claimStaleNotice } from '../db/integration-runs.js'
import { enqueueNotice } from '../db/outbox.js'
import type { Deps } from '../deps.js'
import { localDayHour } from '../time-format.js'
import { firstSyncDone } from './phase.js'
import type { Integration, StaleData } from './types.js'

/** Late data of one integration's provider. */
export interface StaleEntry extends StaleData {
  integration: string
}

/**
 * Every provider whose data is late at `now` by its integration's rule. A provider whose first
 * sync has not finished is never late: there is nothing to judge yet.
 */
export function staleData(deps: Pick<Deps, 'config' | 'db'>, integrations: readonly Integration[], now: number, timeZone: string): StaleEntry[] {
  return integrations.flatMap((i) =>
    (i.freshness?.(deps, now, timeZone) ?? []).filter((s) => firstSyncDone(deps.db, i.id, s.provider)).map((s) => ({ ...s, integration: i.id })),
  )
}

/**
 * Queues a chat notice (outbox kind `data_stale`) for each late provider, unless one was queued
 * for it on the same local day. Returns how many were queued.
 */
export function queueStaleNotices(deps: Pick<Deps, 'config' | 'db' | 'clock'>, integrations: readonly Integration[], timeZone: string): number {
  const now = deps.clock.now()
  const { day } = localDayHour(now, timeZone)
  let queued = 0
  for (const s of staleData(deps, integrations, now, timeZone)) {
    deps.db.transaction(() => {
      if (!claimStaleNotice(deps.db, s.provider, day, now)) return
      enqueueNotice(deps.db, { kind: 'data_stale', provider: s.provider, text: `⚠️ ${s.text}`, createdAt: now })
      queued++
    }).immediate()
  }
  return queued
}
