import type { Db } from '../db/open.js'
import { prepared } from '../db/statements.js'

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

// Positional: binding named parameters from an object looks each one up, for every row.
const INSERT = 'INSERT INTO audit_log (time, agent, connection, method, path, status, duration_ms, bytes) VALUES (?, ?, ?, ?, ?, ?, ?, ?)'

/** Appends one record at once, in its own transaction. */
export function insertAudit(db: Db, r: AuditRecord): void {
  prepared(db, INSERT).run(r.time, r.agent, r.connection, r.method, r.path, r.status, r.durationMs, r.bytes)
}

/** How long a queued record may wait for others to share its transaction. */
export const AUDIT_FLUSH_MS = 20

/** Records queued for each database, with where a failed write is reported. */
const queued = new WeakMap<Db, { rows: AuditRecord[]; onError: (err: unknown) => void }>()

/**
 * Queues one record: the records queued within AUDIT_FLUSH_MS are written in a single
 * transaction (a commit per proxied request cost more than the rest of the proxy). listAudit
 * writes the queue first; callers closing the database call flushAudit.
 */
export function queueAudit(db: Db, r: AuditRecord, onError: (err: unknown) => void): void {
  const queue = queued.get(db)
  if (queue) {
    queue.rows.push(r)
    return
  }
  queued.set(db, { rows: [r], onError })
  setTimeout(() => {
    try {
      flushAudit(db)
    } catch (err) {
      onError(err)
    }
  }, AUDIT_FLUSH_MS)
}

/** Writes the queued records now, in one transaction. Throws as SQLite does (the rows are then lost, and said so by the caller). */
export function flushAudit(db: Db): void {
  const queue = queued.get(db)
  if (!queue) return
  queued.delete(db)
  const insert = prepared(db, INSERT)
  db.transaction(() => {
    for (const r of queue.rows) insert.run(r.time, r.agent, r.connection, r.method, r.path, r.status, r.durationMs, r.bytes)
  })()
}

/** Records at or after `since`, oldest first (queued ones included). */
export function listAudit(db: Db, since: number): AuditRecord[] {
  flushAudit(db)
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
