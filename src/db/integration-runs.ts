import type { Db } from './open.js'

/** Records that a run of `integration`'s sync, started at `startedAt`, has ended (any outcome). */
export function recordIntegrationRun(db: Db, integration: string, startedAt: number, finishedAt: number): void {
  db.prepare(
    `INSERT INTO integration_runs (integration, started_at, finished_at) VALUES (?, ?, ?)
     ON CONFLICT (integration) DO UPDATE SET started_at = excluded.started_at, finished_at = excluded.finished_at`,
  ).run(integration, startedAt, finishedAt)
}

/** When the last finished run of `integration`'s sync started (epoch ms), if one has finished. */
export function lastRunStartedAt(db: Db, integration: string): number | undefined {
  return db.prepare('SELECT started_at FROM integration_runs WHERE integration = ?').pluck().get(integration) as number | undefined
}

/**
 * Claims today's "data is late" notice for `provider`: true (and recorded) when none was queued
 * on `day` yet. Run it in the transaction that queues the notice.
 */
export function claimStaleNotice(db: Db, provider: string, day: string, now: number): boolean {
  return (
    db
      .prepare(
        `INSERT INTO stale_notices (provider, day, notified_at) VALUES (?, ?, ?)
         ON CONFLICT (provider) DO UPDATE SET day = excluded.day, notified_at = excluded.notified_at WHERE stale_notices.day <> excluded.day`,
      )
      .run(provider, day, now).changes > 0
  )
}
