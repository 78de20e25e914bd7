import type { Db } from './open.js'
import { prepared } from './statements.js'

export interface PendingCode {
  state: string
  code: string
  receivedAt: number
  claimedBy: string | null
  claimedAt: number | null
  codeSentAt: number | null
}

interface PendingRow {
  state: string
  code: string
  received_at: number
  claimed_by: string | null
  claimed_at: number | null
  code_sent_at: number | null
}

const toPending = (r: PendingRow): PendingCode => ({
  state: r.state,
  code: r.code,
  receivedAt: r.received_at,
  claimedBy: r.claimed_by,
  claimedAt: r.claimed_at,
  codeSentAt: r.code_sent_at,
})

export function insertPending(db: Db, p: { state: string; code: string; receivedAt: number }): void {
  prepared(db, 'INSERT INTO oauth_pending (state, code, received_at) VALUES (?, ?, ?)').run(p.state, p.code, p.receivedAt)
}

/**
 * Atomically claims up to `limit` rows of daemon-exchanged flows that nobody holds, or whose
 * holder has not finished within `staleMs` (it crashed). One UPDATE … RETURNING, so two
 * workers can never claim the same row.
 */
export function claimPending(db: Db, worker: string, now: number, staleMs: number, limit = 20): PendingCode[] {
  const rows = prepared(
    db,
    `UPDATE oauth_pending SET claimed_by = @worker, claimed_at = @now
     WHERE state IN (
       SELECT p.state FROM oauth_pending p JOIN oauth_flows f ON f.state = p.state
       WHERE f.exchange = 'daemon' AND f.status = 'exchanging'
         AND (p.claimed_by IS NULL OR p.claimed_at <= @stale)
       ORDER BY p.received_at LIMIT @limit)
     RETURNING *`,
  ).all({ worker, now, stale: now - staleMs, limit }) as PendingRow[]
  return rows.map(toPending)
}

/**
 * Records, before the token request, that this code is about to be sent. Returns false when the
 * row is gone, claimed by someone else, or was already sent: then it must not be sent.
 */
export function markCodeSent(db: Db, state: string, worker: string, now: number): boolean {
  return (
    prepared(
      db,
      `UPDATE oauth_pending SET code_sent_at = ? WHERE state = ? AND claimed_by = ? AND code_sent_at IS NULL`,
    ).run(now, state, worker).changes === 1
  )
}

export function deletePending(db: Db, state: string): void {
  prepared(db, 'DELETE FROM oauth_pending WHERE state = ?').run(state)
}

/** Takes a client-exchanged code: returns it and deletes it in one statement (delivered once). */
export function takePendingCode(db: Db, state: string): string | undefined {
  const row = prepared(db, 'DELETE FROM oauth_pending WHERE state = ? RETURNING code').get(state) as
    | { code: string }
    | undefined
  return row?.code
}
