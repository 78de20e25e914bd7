-- latchkey's core schema, applied at every start-up (idempotent). Times are epoch ms.
-- Each integration's own tables are in its folder (src/integrations/<id>/schema.ts), applied
-- after this in registry order.
PRAGMA journal_mode = WAL;

-- One row per authorization attempt. `state` is the 256-bit CSRF token; `id` is the flow id
-- shown in the chat link, so the state itself never travels through Telegram.
CREATE TABLE IF NOT EXISTS oauth_flows (
  id              TEXT PRIMARY KEY,
  state           TEXT NOT NULL UNIQUE,
  provider        TEXT NOT NULL,
  exchange        TEXT NOT NULL CHECK (exchange IN ('daemon', 'client')),
  status          TEXT NOT NULL DEFAULT 'waiting'
                  CHECK (status IN ('waiting', 'exchanging', 'connected', 'denied', 'failed', 'expired')),
  error           TEXT,
  redirect_uri    TEXT NOT NULL,
  authorization_url TEXT NOT NULL,
  token_url       TEXT NOT NULL,        -- taken from this row at exchange time (oauth-security.md A8)
  issuer          TEXT,
  code_verifier   TEXT,                 -- cleared once the flow ends
  requested_scopes TEXT NOT NULL,
  granted_scopes  TEXT,
  chat_id         INTEGER,
  message_id      INTEGER,
  created_at      INTEGER NOT NULL,
  expires_at      INTEGER NOT NULL,
  callback_at     INTEGER,
  finished_at     INTEGER
);
-- The expiry sweep's index. Not on status: a callback moves a flow from waiting to exchanging,
-- and an index holding the status would be rewritten (a page or two more) on every callback.
DROP INDEX IF EXISTS oauth_flows_waiting;
CREATE INDEX IF NOT EXISTS oauth_flows_expiry ON oauth_flows (expires_at);

-- Codes received by the callback and not yet exchanged (or, for client flows, not yet collected).
-- `code_sent_at` is set and committed before the token POST: a row that has it is never sent again.
-- WITHOUT ROWID: the row lives in its key's b-tree, so storing a code writes one page, not a
-- table page and an index page (databases made before are rebuilt by openDb).
CREATE TABLE IF NOT EXISTS oauth_pending (
  state        TEXT PRIMARY KEY REFERENCES oauth_flows (state) ON DELETE CASCADE,
  code         TEXT NOT NULL,
  received_at  INTEGER NOT NULL,
  claimed_by   TEXT,
  claimed_at   INTEGER,
  code_sent_at INTEGER
) WITHOUT ROWID;

-- Messages for whoever reports to the user (the bot drains it; the CLI reads flow status instead).
CREATE TABLE IF NOT EXISTS outbox (
  id           INTEGER PRIMARY KEY AUTOINCREMENT,
  kind         TEXT NOT NULL,
  provider     TEXT NOT NULL,
  flow_id      TEXT,
  chat_id      INTEGER,
  message_id   INTEGER,
  text         TEXT NOT NULL,
  created_at   INTEGER NOT NULL,
  delivered_at INTEGER
);
CREATE INDEX IF NOT EXISTS outbox_undelivered ON outbox (delivered_at, id);

-- One row per connected provider: what auth.json cannot hold. Refresh failures back off with
-- `next_attempt_at`; each *_notified_at makes its notification happen once.
CREATE TABLE IF NOT EXISTS connections (
  provider           TEXT PRIMARY KEY,
  status             TEXT NOT NULL DEFAULT 'ok' CHECK (status IN ('ok', 'needs_reauth', 'failing')),
  consented_at       INTEGER NOT NULL,
  requested_scopes   TEXT NOT NULL,
  granted_scopes     TEXT,
  last_refresh_at    INTEGER,
  failure_count      INTEGER NOT NULL DEFAULT 0,
  last_error         TEXT,
  next_attempt_at    INTEGER,
  expiry_notified_at INTEGER,
  reauth_notified_at INTEGER,
  reconsent_reminded_at INTEGER,
  updated_at         INTEGER NOT NULL
);

-- Certificates the user was already warned about (one warning per certificate).
CREATE TABLE IF NOT EXISTS tls_notices (
  fingerprint TEXT PRIMARY KEY,
  notified_at INTEGER NOT NULL
);

-- Client credentials the user gave the bot (they overlay the config for providers that have none).
CREATE TABLE IF NOT EXISTS provider_credentials (
  provider      TEXT PRIMARY KEY,
  client_id     TEXT NOT NULL,
  client_secret TEXT,                 -- NULL for a public (PKCE-only) client
  updated_at    INTEGER NOT NULL
);

-- Where each chat is in a bot dialog. Never holds a secret: the client secret goes straight to
-- provider_credentials. Kept in SQLite so a dialog survives a restart.
CREATE TABLE IF NOT EXISTS bot_chat_state (
  chat_id    INTEGER PRIMARY KEY,
  step       TEXT NOT NULL CHECK (step IN ('client_id', 'client_secret', 'paste')),
  provider   TEXT NOT NULL,
  client_id  TEXT,
  flow_id    TEXT,
  updated_at INTEGER NOT NULL
);

-- Where each pull from a provider's API stands: everything before cursor_at (epoch ms, the
-- provider's clock) is stored. Written in the same transaction as the rows it covers.
CREATE TABLE IF NOT EXISTS sync_state (
  provider        TEXT NOT NULL,
  stream          TEXT NOT NULL,        -- 'egvs', 'events'
  cursor_at       INTEGER,
  last_success_at INTEGER,
  next_attempt_at INTEGER,              -- set after a 429 with a long Retry-After
  last_error      TEXT,
  updated_at      INTEGER NOT NULL,
  PRIMARY KEY (provider, stream)
);

-- RFC 8628 device authorization flows: the flow row in oauth_flows plus what polling needs.
-- The device code is a credential: it lives here only until the flow ends (row deleted).
CREATE TABLE IF NOT EXISTS device_flows (
  flow_id          TEXT PRIMARY KEY REFERENCES oauth_flows (id) ON DELETE CASCADE,
  device_code      TEXT NOT NULL,
  user_code        TEXT NOT NULL,
  verification_uri TEXT NOT NULL,
  interval_ms      INTEGER NOT NULL,
  next_poll_at     INTEGER NOT NULL
);

-- Agents allowed to call /proxy and /mcp with their own token. Only the token's SHA-256 is kept
-- (a 256-bit random token needs no slow hash); the token itself is shown once, at creation.
CREATE TABLE IF NOT EXISTS agents (
  name         TEXT PRIMARY KEY,
  token_hash   TEXT NOT NULL UNIQUE,     -- hex SHA-256 of the token
  scopes       TEXT NOT NULL,            -- JSON array of --allow specs, as parsed
  created_at   INTEGER NOT NULL,
  last_used_at INTEGER
);

-- One row per proxied request (and per MCP http_request): never a query string, header or body.
-- Kept 30 days.
CREATE TABLE IF NOT EXISTS audit_log (
  id          INTEGER PRIMARY KEY AUTOINCREMENT,
  time        INTEGER NOT NULL,
  agent       TEXT NOT NULL,             -- agent name, or "api-token"
  connection  TEXT NOT NULL,
  method      TEXT NOT NULL,
  path        TEXT NOT NULL,
  status      INTEGER NOT NULL,
  duration_ms INTEGER NOT NULL,
  bytes       INTEGER NOT NULL           -- response body bytes sent to the caller
);
CREATE INDEX IF NOT EXISTS audit_log_time ON audit_log (time);

-- Providers found by "connect <url>" (mcp-auth.md §1), so that a URL keeps its id and its
-- provider survives restarts. `definition` is the provider's fields (JSON, without client
-- credentials); `metadata` the authorization server's document as discovered.
CREATE TABLE IF NOT EXISTS discovered_providers (
  provider      TEXT PRIMARY KEY,
  url           TEXT NOT NULL UNIQUE,    -- canonical, as typed
  kind          TEXT NOT NULL CHECK (kind IN ('mcp', 'issuer')),
  issuer        TEXT NOT NULL,
  definition    TEXT NOT NULL,
  metadata      TEXT NOT NULL,
  discovered_at INTEGER NOT NULL,
  checked_at    INTEGER NOT NULL         -- last successful discovery; re-done when stale
);

-- Clients latchkey registered itself (RFC 7591), keyed by issuer: a client is only ever used
-- with the authorization server that issued it.
CREATE TABLE IF NOT EXISTS registered_clients (
  issuer        TEXT PRIMARY KEY,
  client_id     TEXT NOT NULL,
  client_secret TEXT,                    -- NULL for a public client (token_endpoint_auth_method none)
  client_auth   TEXT NOT NULL CHECK (client_auth IN ('body', 'basic', 'none')),
  redirect_uri  TEXT NOT NULL,
  registered_at INTEGER NOT NULL
);

-- RFC 7592 management of a registered client, when the server's registration answer offered it:
-- where to DELETE the client and the registration access token to do it with (a secret).
CREATE TABLE IF NOT EXISTS client_management (
  issuer                    TEXT PRIMARY KEY,
  registration_client_uri   TEXT NOT NULL,
  registration_access_token TEXT NOT NULL
);

-- The last finished run of each integration's sync (whatever its outcome): a provider connected
-- after `started_at` is still waiting for its first sync (the chat says "first sync running").
CREATE TABLE IF NOT EXISTS integration_runs (
  integration TEXT PRIMARY KEY,
  started_at  INTEGER NOT NULL,
  finished_at INTEGER NOT NULL
);

-- The local day (YYYY-MM-DD, the user's time zone) a provider's "data is late" notice was last
-- queued: one notice a day, not one per sync run.
CREATE TABLE IF NOT EXISTS stale_notices (
  provider    TEXT PRIMARY KEY,
  day         TEXT NOT NULL,
  notified_at INTEGER NOT NULL
);

-- Re-consents with a larger scope set offered in the chat after a 403 insufficient_scope
-- (RFC 6750 §3.1), seen by the proxy or reported by an agent: one per connection, consent and
-- scope set, so an agent refused again and again never spams the chat.
CREATE TABLE IF NOT EXISTS scope_offers (
  provider     TEXT NOT NULL,
  scopes       TEXT NOT NULL,            -- the whole set offered, sorted, space-separated
  consented_at INTEGER NOT NULL,         -- the consent it widens: after a new consent it may be offered again
  offered_at   INTEGER NOT NULL,
  PRIMARY KEY (provider, scopes, consented_at)
);
