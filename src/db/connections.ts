import type { Db } from './open.js'

export type ConnectionStatus = 'ok' | 'needs_reauth' | 'failing'

export interface Connection {
  provider: string
  status: ConnectionStatus
  consentedAt: number
  requestedScopes: string[]
  grantedScopes: string[] | null
  lastRefreshAt: number | null
  failureCount: number
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
  updated_at: number
}

const split = (s: string): string[] => (s ? s.split(' ') : [])

/** Records a fresh consent: status ok, failures reset, scopes as requested and granted. */
export function upsertConsent(
  db: Db,
  c: { provider: string; now: number; requestedScopes: string[]; grantedScopes: string[] | null },
): void {
  db.prepare(
    `INSERT INTO connections (provider, status, consented_at, requested_scopes, granted_scopes, failure_count, updated_at)
     VALUES (@provider, 'ok', @now, @requested, @granted, 0, @now)
     ON CONFLICT (provider) DO UPDATE SET status = 'ok', consented_at = @now, requested_scopes = @requested,
       granted_scopes = @granted, failure_count = 0, last_refresh_at = NULL, updated_at = @now`,
  ).run({
    provider: c.provider,
    now: c.now,
    requested: c.requestedScopes.join(' '),
    granted: c.grantedScopes ? c.grantedScopes.join(' ') : null,
  })
}

export function listConnections(db: Db): Connection[] {
  return (db.prepare('SELECT * FROM connections ORDER BY provider').all() as ConnectionRow[]).map((r) => ({
    provider: r.provider,
    status: r.status,
    consentedAt: r.consented_at,
    requestedScopes: split(r.requested_scopes),
    grantedScopes: r.granted_scopes === null ? null : split(r.granted_scopes),
    lastRefreshAt: r.last_refresh_at,
    failureCount: r.failure_count,
    updatedAt: r.updated_at,
  }))
}
