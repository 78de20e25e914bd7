// Dexcom's tables, applied after the core schema.sql at every start-up (idempotent).

/** Glucose readings and user events, keyed by the provider entry and Dexcom's recordId. */
export const DEXCOM_SCHEMA = `
-- Dexcom estimated glucose values, one row per record (keyed by Dexcom's recordId). value_mgdl
-- 39 means "below 40" (status low) and 401 "above 400" (status high); display_time is kept as sent.
CREATE TABLE IF NOT EXISTS glucose_readings (
  provider        TEXT NOT NULL,
  record_id       TEXT NOT NULL,
  system_time     INTEGER NOT NULL,     -- epoch ms, UTC
  display_time    TEXT,
  value_mgdl      REAL,
  status          TEXT,
  trend           TEXT,
  trend_rate      REAL,                 -- mg/dL/min
  unit            TEXT,
  rate_unit       TEXT,
  display_device  TEXT,
  display_app     TEXT,
  transmitter_id  TEXT,
  transmitter_ticks INTEGER,
  transmitter_generation TEXT,
  transmitter_generation_variant TEXT,
  fetched_at      INTEGER NOT NULL,
  PRIMARY KEY (provider, record_id)
);
CREATE INDEX IF NOT EXISTS glucose_readings_time ON glucose_readings (provider, system_time);

-- Dexcom user-entered events (insulin, carbs, exercise, ...); "value" is text, as Dexcom sends it.
CREATE TABLE IF NOT EXISTS glucose_events (
  provider        TEXT NOT NULL,
  record_id       TEXT NOT NULL,
  system_time     INTEGER NOT NULL,
  display_time    TEXT,
  event_status    TEXT,
  event_type      TEXT,
  event_sub_type  TEXT,
  value           TEXT,
  unit            TEXT,
  transmitter_id  TEXT,
  transmitter_generation TEXT,
  transmitter_generation_variant TEXT,
  display_device  TEXT,
  recorded_system_time INTEGER,
  recorded_display_time TEXT,
  fetched_at      INTEGER NOT NULL,
  PRIMARY KEY (provider, record_id)
);
CREATE INDEX IF NOT EXISTS glucose_events_time ON glucose_events (provider, system_time);`
