import type { Db } from './open.js'

/** Client credentials the user supplied through the bot. */
export interface StoredCredentials {
  provider: string
  clientId: string
  clientSecret: string | null
  updatedAt: number
}

export function saveCredentials(db: Db, c: StoredCredentials): void {
  db.prepare(
    `INSERT INTO provider_credentials (provider, client_id, client_secret, updated_at) VALUES (@provider, @clientId, @clientSecret, @updatedAt)
     ON CONFLICT (provider) DO UPDATE SET client_id = @clientId, client_secret = @clientSecret, updated_at = @updatedAt`,
  ).run(c)
}

export function getCredentials(db: Db, provider: string): StoredCredentials | undefined {
  return db
    .prepare(
      'SELECT provider, client_id AS clientId, client_secret AS clientSecret, updated_at AS updatedAt FROM provider_credentials WHERE provider = ?',
    )
    .get(provider) as StoredCredentials | undefined
}

/** Returns true when there was something to delete. */
export function deleteCredentials(db: Db, provider: string): boolean {
  return db.prepare('DELETE FROM provider_credentials WHERE provider = ?').run(provider).changes === 1
}
