import Database from 'better-sqlite3'
import { chmodSync, mkdirSync, readFileSync } from 'node:fs'
import { dirname } from 'node:path'
import { fileURLToPath } from 'node:url'
import { INTEGRATIONS } from '../integrations/index.js'
import type { Integration } from '../integrations/types.js'

export type Db = Database.Database

// schema.sql sits at the package root: two levels up from src/db/ and three from dist/src/db/.
function findSchema(): string {
  for (const rel of ['../../schema.sql', '../../../schema.sql']) {
    try {
      return readFileSync(fileURLToPath(new URL(rel, import.meta.url)), 'utf8')
    } catch {
      // try the next layout
    }
  }
  throw new Error('schema.sql not found next to the package')
}

/**
 * Opens (creating when missing, mode 0600 in a 0700 directory) a SQLite database with WAL,
 * foreign keys and a busy timeout, and applies schema.sql, then each integration's tables in
 * registry order. One connection per thread.
 */
export function openDb(file: string, integrations: readonly Pick<Integration, 'schema'>[] = INTEGRATIONS): Db {
  if (file !== ':memory:') mkdirSync(dirname(file), { recursive: true, mode: 0o700 })
  const db = new Database(file)
  if (file !== ':memory:') chmodSync(file, 0o600)
  db.pragma('busy_timeout = 5000')
  db.pragma('foreign_keys = ON')
  db.pragma('synchronous = NORMAL')
  // Deleted codes and verifiers are zeroed in the database pages. This does not reach older
  // frames already in the WAL, which keep them until a checkpoint: scrubWal does that when a
  // flow ends, and the bounds below keep the WAL small in between.
  db.pragma('secure_delete = ON')
  db.pragma('wal_autocheckpoint = 100') // pages (~400 KB)
  db.pragma(`journal_size_limit = ${1024 * 1024}`)
  const schema = findSchema()
  db.exec(schema)
  upgradePendingTable(db, schema)
  for (const integration of integrations) db.exec(integration.schema)
  return db
}

/**
 * Rebuilds an oauth_pending made before it was WITHOUT ROWID (one page per stored code instead of
 * two), keeping its rows; once, under the write lock, whichever connection opens first.
 */
function upgradePendingTable(db: Db, schema: string): void {
  const current = () => db.prepare(`SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'oauth_pending'`).pluck().get() as string
  if (current().includes('WITHOUT ROWID')) return
  const create = /CREATE TABLE IF NOT EXISTS oauth_pending \(.*?\) WITHOUT ROWID;/s.exec(schema)?.[0]
  if (!create) throw new Error('schema.sql has no WITHOUT ROWID oauth_pending')
  db.transaction(() => {
    if (current().includes('WITHOUT ROWID')) return
    db.exec(create.replace('oauth_pending (', 'oauth_pending_next ('))
    db.exec(`INSERT INTO oauth_pending_next (state, code, received_at, claimed_by, claimed_at, code_sent_at)
             SELECT state, code, received_at, claimed_by, claimed_at, code_sent_at FROM oauth_pending`)
    db.exec('DROP TABLE oauth_pending')
    db.exec('ALTER TABLE oauth_pending_next RENAME TO oauth_pending')
  }).immediate()
}

/**
 * Copies the WAL into the database and truncates it, so a spent code or PKCE verifier no longer
 * lies in old WAL frames. Best effort: with a reader still active the WAL stays until the next one.
 */
export function scrubWal(db: Db): void {
  db.pragma('wal_checkpoint(TRUNCATE)')
}
