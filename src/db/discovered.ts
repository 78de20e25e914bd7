import type { Db } from './open.js'

/** A provider found by "connect <url>" (schema.sql: discovered_providers). */
export interface DiscoveredRow {
  provider: string
  url: string
  kind: 'mcp' | 'issuer'
  issuer: string
  /** The provider's fields, JSON (a ProviderOverride without client credentials). */
  definition: string
  /** The authorization server's metadata document, JSON. */
  metadata: string
  discoveredAt: number
  checkedAt: number
}

const SELECT = `SELECT provider, url, kind, issuer, definition, metadata, discovered_at AS discoveredAt, checked_at AS checkedAt FROM discovered_providers`

export function listDiscovered(db: Db): DiscoveredRow[] {
  return db.prepare(`${SELECT} ORDER BY provider`).all() as DiscoveredRow[]
}

export function getDiscoveredByUrl(db: Db, url: string): DiscoveredRow | undefined {
  return db.prepare(`${SELECT} WHERE url = ?`).get(url) as DiscoveredRow | undefined
}

export function getDiscovered(db: Db, provider: string): DiscoveredRow | undefined {
  return db.prepare(`${SELECT} WHERE provider = ?`).get(provider) as DiscoveredRow | undefined
}

/** Inserts or replaces the row for this URL; its id and first discovery time never change. */
export function saveDiscovered(db: Db, row: DiscoveredRow): void {
  db.prepare(
    `INSERT INTO discovered_providers (provider, url, kind, issuer, definition, metadata, discovered_at, checked_at)
     VALUES (@provider, @url, @kind, @issuer, @definition, @metadata, @discoveredAt, @checkedAt)
     ON CONFLICT (url) DO UPDATE SET kind = @kind, issuer = @issuer, definition = @definition, metadata = @metadata, checked_at = @checkedAt`,
  ).run(row)
}

/** A client latchkey registered at an authorization server (RFC 7591). */
export interface RegisteredClient {
  issuer: string
  clientId: string
  clientSecret: string | null
  clientAuth: 'body' | 'basic' | 'none'
  redirectUri: string
  registeredAt: number
  /** RFC 7592: where the client can be deleted, and the registration access token (a secret) to do it. */
  management?: { uri: string; accessToken: string }
}

/** The client registered at exactly this issuer (never another's: mcp-auth.md §1.5). */
export function getRegisteredClient(db: Db, issuer: string): RegisteredClient | undefined {
  const row = db
    .prepare(
      `SELECT r.issuer, client_id AS clientId, client_secret AS clientSecret, client_auth AS clientAuth, redirect_uri AS redirectUri, registered_at AS registeredAt,
         m.registration_client_uri AS uri, m.registration_access_token AS accessToken
       FROM registered_clients r LEFT JOIN client_management m ON m.issuer = r.issuer WHERE r.issuer = ?`,
    )
    .get(issuer) as (Omit<RegisteredClient, 'management'> & { uri: string | null; accessToken: string | null }) | undefined
  if (!row) return undefined
  const { uri, accessToken, ...client } = row
  return uri !== null && accessToken !== null ? { ...client, management: { uri, accessToken } } : client
}

/** Saves a client (and its RFC 7592 management, or none): call inside a transaction. */
export function saveRegisteredClient(db: Db, c: RegisteredClient): void {
  const { management, ...client } = c
  if (management)
    db.prepare(
      `INSERT INTO client_management (issuer, registration_client_uri, registration_access_token) VALUES (?, ?, ?)
       ON CONFLICT (issuer) DO UPDATE SET registration_client_uri = excluded.registration_client_uri, registration_access_token = excluded.registration_access_token`,
    ).run(c.issuer, management.uri, management.accessToken)
  else db.prepare('DELETE FROM client_management WHERE issuer = ?').run(c.issuer)
  db.prepare(
    `INSERT INTO registered_clients (issuer, client_id, client_secret, client_auth, redirect_uri, registered_at)
     VALUES (@issuer, @clientId, @clientSecret, @clientAuth, @redirectUri, @registeredAt)
     ON CONFLICT (issuer) DO UPDATE SET client_id = @clientId, client_secret = @clientSecret, client_auth = @clientAuth,
       redirect_uri = @redirectUri, registered_at = @registeredAt`,
  ).run(client)
}

/** Returns true when there was something to delete. */
export function deleteRegisteredClient(db: Db, issuer: string): boolean {
  db.prepare('DELETE FROM client_management WHERE issuer = ?').run(issuer)
  return db.prepare('DELETE FROM registered_clients WHERE issuer = ?').run(issuer).changes === 1
}
