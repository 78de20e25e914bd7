// A database made before oauth_pending was WITHOUT ROWID (and before the expiry index left out
// the status) is upgraded in place by openDb: the stored codes stay, and a callback then writes
// fewer pages.
import Database from 'better-sqlite3'
import { join } from 'node:path'
import t from 'tap'
import { openDb } from '../../src/db/open.js'
import { claimPending } from '../../src/db/oauth-pending.js'
import { tempDir } from '../support/deps.js'

const OLD_SCHEMA = `
CREATE TABLE oauth_flows (
  id TEXT PRIMARY KEY, state TEXT NOT NULL UNIQUE, provider TEXT NOT NULL,
  exchange TEXT NOT NULL CHECK (exchange IN ('daemon', 'client')),
  status TEXT NOT NULL DEFAULT 'waiting' CHECK (status IN ('waiting', 'exchanging', 'connected', 'denied', 'failed', 'expired')),
  error TEXT, redirect_uri TEXT NOT NULL, authorization_url TEXT NOT NULL, token_url TEXT NOT NULL, issuer TEXT,
  code_verifier TEXT, requested_scopes TEXT NOT NULL, granted_scopes TEXT, chat_id INTEGER, message_id INTEGER,
  created_at INTEGER NOT NULL, expires_at INTEGER NOT NULL, callback_at INTEGER, finished_at INTEGER
);
CREATE INDEX oauth_flows_waiting ON oauth_flows (status, expires_at);
CREATE TABLE oauth_pending (
  state TEXT PRIMARY KEY REFERENCES oauth_flows (state) ON DELETE CASCADE,
  code TEXT NOT NULL, received_at INTEGER NOT NULL, claimed_by TEXT, claimed_at INTEGER, code_sent_at INTEGER
);
INSERT INTO oauth_flows (id, state, provider, exchange, status, redirect_uri, authorization_url, token_url, requested_scopes, created_at, expires_at)
  VALUES ('flow-1', 'state-1', 'acme', 'daemon', 'exchanging', 'http://127.0.0.1:8400/oauth/callback', 'https://as.example/authorize', 'https://as.example/token', 'read', 1000, 2000),
         ('flow-2', 'state-2', 'acme', 'client', 'exchanging', 'http://127.0.0.1:8400/oauth/callback', 'https://as.example/authorize', 'https://as.example/token', 'read', 1000, 2000);
INSERT INTO oauth_pending (state, code, received_at, claimed_by, claimed_at, code_sent_at)
  VALUES ('state-1', 'code-1', 1500, NULL, NULL, NULL), ('state-2', 'code-2', 1600, 'worker-a', 1700, 1800);
`

const layout = (db: Database.Database, name: string) =>
  db.prepare(`SELECT sql FROM sqlite_master WHERE name = ?`).pluck().get(name) as string | undefined

t.test('an old database: oauth_pending rebuilt WITHOUT ROWID with its rows, the expiry index replaced', async (t) => {
  const file = join(tempDir(t), 'latchkey.db')
  const old = new Database(file)
  old.pragma('journal_mode = WAL')
  old.exec(OLD_SCHEMA)
  old.close()

  const db = openDb(file)
  t.teardown(() => db.close())
  t.match(layout(db, 'oauth_pending'), /\) WITHOUT ROWID$/, 'rebuilt')
  t.equal(layout(db, 'oauth_pending_next'), undefined, 'no leftover table')
  t.equal(layout(db, 'oauth_flows_waiting'), undefined, 'the status index is gone')
  t.match(layout(db, 'oauth_flows_expiry'), /ON oauth_flows \(expires_at\)/)
  t.same(
    db.prepare('SELECT * FROM oauth_pending ORDER BY state').all(),
    [
      { state: 'state-1', code: 'code-1', received_at: 1500, claimed_by: null, claimed_at: null, code_sent_at: null },
      { state: 'state-2', code: 'code-2', received_at: 1600, claimed_by: 'worker-a', claimed_at: 1700, code_sent_at: 1800 },
    ],
    'every row and column kept',
  )
  t.same(
    claimPending(db, 'worker-b', 3000, 60_000).map((p) => p.code),
    ['code-1'],
    'the resolve job claims from the rebuilt table',
  )
  db.prepare(`DELETE FROM oauth_flows WHERE state = 'state-2'`).run()
  t.equal(db.prepare('SELECT count(*) FROM oauth_pending').pluck().get(), 1, 'the cascade from oauth_flows still applies')
  t.same(db.pragma('foreign_key_check'), [])
})

t.test('opening again (or a new database) changes nothing', async (t) => {
  const file = join(tempDir(t), 'latchkey.db')
  openDb(file).close()
  const before = new Database(file)
  const tables = before.prepare(`SELECT name, sql FROM sqlite_master ORDER BY name`).all()
  before.close()
  t.match(JSON.stringify(tables), /WITHOUT ROWID/, 'a new database has the new layout')
  openDb(file).close()
  const after = new Database(file)
  t.teardown(() => after.close())
  t.same(after.prepare(`SELECT name, sql FROM sqlite_master ORDER BY name`).all(), tables)
})
