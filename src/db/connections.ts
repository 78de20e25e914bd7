import type { Db } from './open.js'
import { prepared } from './statements.js'

export type ConnectionStatus = 'ok' | 'needs_reauth' | 'failing'

export interface Connection {
  provider: string
  status: ConnectionStatus
  consentedAt: number
  requestedScopes: string[]
  grantedScopes: string[] | null
  lastRefreshAt: number | null
  failureCount: number
  lastError: string | null
  nextAttemptAt: number | null
  expiryNotifiedAt: number | null
  reauthNotifiedAt: number | null
  reconsentRemindedAt: number | null
  updatedAt: number
}

interface ConnectionRow {
  provider: string
  status: ConnectionStatus
  consented_at: number
  requested_scopes: string
  granted_scopes: string | null
  last_refresh_at: number | null
  failure_count: number
  last_error: string | null
  next_attempt_at: number | null
  expiry_notified_at: number | null
  reauth_notified_at: number | null
  reconsent_reminded_at: number | null
  updated_at: number
}

const split = (s: string): string[] => (s ? s.split(' ') : [])

function toConnection(r: ConnectionRow): Connection {
  return {
    provider: r.provider,
    status: r.status,
    consentedAt: r.consented_at,
    requestedScopes: split(r.requested_scopes),
    grantedScopes: r.granted_scopes === null ? null : split(r.granted_scopes),
    lastRefreshAt: r.last_refresh_at,
    failureCount: r.failure_count,
    lastError: r.last_error,
    nextAttemptAt: r.next_attempt_at,
    expiryNotifiedAt: r.expiry_notified_at,
    reauthNotifiedAt: r.reauth_notified_at,
    reconsentRemindedAt: r.reconsent_reminded_at,
    updatedAt: r.updated_at,
  }
}

/** Records a fresh consent: status ok, failures and notifications reset, scopes as requested and granted. */
export function upsertConsent(
  db: Db,
  c: { provider: string; now: number; requestedScopes: string[]; grantedScopes: string[] | null },
): void {
  db.prepare(
    `INSERT INTO connections (provider, status, consented_at, requested_scopes, granted_scopes, failure_count, updated_at)
     VALUES (@provider, 'ok', @now, @requested, @granted, 0, @now)
     ON CONFLICT (provider) DO UPDATE SET status = 'ok', consented_at = @now, requested_scopes = @requested,
       granted_scopes = @granted, failure_count = 0, last_error = NULL, last_refresh_at = NULL,
       next_attempt_at = NULL, expiry_notified_at = NULL, reauth_notified_at = NULL,
       reconsent_reminded_at = NULL, updated_at = @now`,
  ).run({
    provider: c.provider,
    now: c.now,
    requested: c.requestedScopes.join(' '),
    granted: c.grantedScopes ? c.grantedScopes.join(' ') : null,
  })
}

export function getConnection(db: Db, provider: string): Connection | undefined {
  const row = db.prepare('SELECT * FROM connections WHERE provider = ?').get(provider) as ConnectionRow | undefined
  return row && toConnection(row)
}

/** Just the connection's status (undefined without a record): the check on every token read. */
export function getConnectionStatus(db: Db, provider: string): ConnectionStatus | undefined {
  return prepared(db, 'SELECT status FROM connections WHERE provider = ?').pluck().get(provider) as ConnectionStatus | undefined
}

/**
 * The record for a token latchkey did not obtain itself (written to auth.json by hand or
 * before this database existed): consent time unknown, so "now" stands in.
 */
export function ensureConnection(db: Db, provider: string, now: number, scopes: string[]): Connection {
  db.prepare(
    `INSERT INTO connections (provider, consented_at, requested_scopes, granted_scopes, updated_at)
     VALUES (?, ?, ?, ?, ?) ON CONFLICT (provider) DO NOTHING`,
  ).run(provider, now, scopes.join(' '), scopes.join(' '), now)
  return getConnection(db, provider) as Connection
}

export function listConnections(db: Db): Connection[] {
  return (db.prepare('SELECT * FROM connections ORDER BY provider').all() as ConnectionRow[]).map(toConnection)
}

/** A refresh succeeded: status ok, failures cleared. */
export function recordRefreshSuccess(db: Db, provider: string, now: number, grantedScopes: string[] | null): void {
  db.prepare(
    `UPDATE connections SET status = 'ok', last_refresh_at = @now, failure_count = 0, last_error = NULL,
       next_attempt_at = NULL, expiry_notified_at = NULL,
       granted_scopes = COALESCE(@granted, granted_scopes), updated_at = @now
     WHERE provider = @provider`,
  ).run({ provider, now, granted: grantedScopes ? grantedScopes.join(' ') : null })
}

/** A transient failure: count it and wait until `nextAttemptAt` before trying again. */
export function recordRefreshFailure(db: Db, provider: string, now: number, error: string, nextAttemptAt: number): Connection {
  db.prepare(
    `UPDATE connections SET status = 'failing', failure_count = failure_count + 1, last_error = ?,
       next_attempt_at = ?, updated_at = ? WHERE provider = ?`,
  ).run(error, nextAttemptAt, now, provider)
  return getConnection(db, provider) as Connection
}

/**
 * Marks the grant as revoked; returns true the first time only (so the user is told once).
 * Callers then rewrite auth.json: TokenSource caches statuses per version of that file.
 */
export function markNeedsReauth(db: Db, provider: string, now: number, error: string): boolean {
  return (
    db
      .prepare(
        `UPDATE connections SET status = 'needs_reauth', last_error = ?, reauth_notified_at = ?, next_attempt_at = NULL,
           updated_at = ? WHERE provider = ? AND status != 'needs_reauth'`,
      )
      .run(error, now, now, provider).changes === 1
  )
}

/** Sets a once-only notification timestamp; true when this call set it. */
export function claimNotification(db: Db, provider: string, column: 'expiry_notified_at' | 'reconsent_reminded_at', now: number): boolean {
  return db.prepare(`UPDATE connections SET ${column} = ? WHERE provider = ? AND ${column} IS NULL`).run(now, provider).changes === 1
}

/** Forgets a connection (the user disconnected it). */
export function deleteConnection(db: Db, provider: string): void {
  db.prepare('DELETE FROM connections WHERE provider = ?').run(provider)
}
