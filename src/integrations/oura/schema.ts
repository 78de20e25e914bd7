// Oura's tables, applied after the core schema.sql at every start-up (idempotent).

/**
 * One row per Oura document (daily_sleep, sleep, daily_readiness, daily_activity), keyed by
 * Oura's id, with the day Oura dates it and the document as sent; heart rate one row per sample.
 */
export const OURA_SCHEMA = `
CREATE TABLE IF NOT EXISTS oura_documents (
  provider    TEXT NOT NULL,
  type        TEXT NOT NULL,
  id          TEXT NOT NULL,
  day         TEXT NOT NULL,            -- YYYY-MM-DD as Oura dates it
  doc         TEXT NOT NULL,            -- the JSON document
  fetched_at  INTEGER NOT NULL,
  PRIMARY KEY (provider, type, id)
);
CREATE INDEX IF NOT EXISTS oura_documents_day ON oura_documents (provider, type, day);
CREATE TABLE IF NOT EXISTS oura_heartrate (
  provider    TEXT NOT NULL,
  time        INTEGER NOT NULL,         -- epoch ms
  bpm         INTEGER NOT NULL,
  source      TEXT,
  PRIMARY KEY (provider, time)
);
`
