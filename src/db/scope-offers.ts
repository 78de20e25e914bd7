import type { Db } from './open.js'

/**
 * Records that a re-consent with `scopes` (any order) was offered for the connection's consent
 * of `consentedAt`; true the first time only (the offer is then sent, once).
 */
export function recordScopeOffer(db: Db, o: { provider: string; scopes: readonly string[]; consentedAt: number; now: number }): boolean {
  return (
    db
      .prepare('INSERT INTO scope_offers (provider, scopes, consented_at, offered_at) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING')
      .run(o.provider, [...o.scopes].sort().join(' '), o.consentedAt, o.now).changes === 1
  )
}

/**
 * Every scope offered for the connection's consent of `consentedAt`, or for any of its consents
 * when it is not given, in the order offered (empty when none was).
 */
export function offeredScopes(db: Db, provider: string, consentedAt?: number): string[] {
  const rows = db
    .prepare('SELECT scopes FROM scope_offers WHERE provider = @provider AND (@consentedAt IS NULL OR consented_at = @consentedAt) ORDER BY offered_at, rowid')
    .pluck()
    .all({ provider, consentedAt: consentedAt ?? null }) as string[]
  return [...new Set(rows.flatMap((s) => s.split(' ')))]
}

/** Forgets a connection's offers (it was disconnected). */
export function deleteScopeOffers(db: Db, provider: string): void {
  db.prepare('DELETE FROM scope_offers WHERE provider = ?').run(provider)
}
