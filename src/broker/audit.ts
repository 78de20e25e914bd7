import type { Db } from '../db/open.js'

/** Audit rows older than this are deleted. */
export const AUDIT_RETENTION_MS = 30 * 24 * 60 * 60 * 1000

/** One proxied request, as `latchkey audit --json` prints it (time in epoch ms). */
export interface AuditRecord {
  time: number
  agent: string
  connection: string
  method: string
  /** Normalised, without the query string (queries carry secrets at some providers). */
  path: string
  status: number
  durationMs: number
  bytes: number
}

/** Appends one record. */
export function insertAudit(db: Db, r: AuditRecord): void {
  db.prepare(
    'INSERT INTO audit_log (time, agent, connection, method, path, status, duration_ms, bytes) VALUES (@time, @agent, @connection, @method, @path, @status, @durationMs, @bytes)',
  ).run(r)
}

/** Records at or after `since`, oldest first. */
export function listAudit(db: Db, since: number): AuditRecord[] {
  return db
    .prepare(
      'SELECT time, agent, connection, method, path, status, duration_ms AS durationMs, bytes FROM audit_log WHERE time >= ? ORDER BY time, id',
    )
    .all(since) as AuditRecord[]
}

/** Deletes records past the retention; returns how many went. */
export function purgeAudit(db: Db, now: number): number {
  return db.prepare('DELETE FROM audit_log WHERE time < ?').run(now - AUDIT_RETENTION_MS).changes
}
