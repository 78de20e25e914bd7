// Shared setup for the Dexcom tests: the simulator on loopback sharing the test's manual clock,
// a config whose dexcom-sandbox entry points at it, and tokens issued straight into auth.json.
import { mkdirSync, writeFileSync } from 'node:fs'
import { dirname } from 'node:path'
import { startDexcomSimulator, type DexcomSandboxUser, type DexcomSimulator, type DexcomSimulatorOptions } from '../../../src/integrations/dexcom/simulator/index.js'
import { testConfig, testDeps, type Teardown, type TestDeps } from '../../support/deps.js'

export const CLIENT_ID = 'sim-client'
export const CLIENT_SECRET = 'sim-client-secret-canary-7f3a'
export const START = Date.UTC(2026, 10, 25, 12, 0, 0)
export const DAY = 24 * 60 * 60 * 1000
/** Simulated data starts 100 days before START (midnight UTC), before any backfill floor. */
export const DATA_START = START - 100 * DAY - 12 * 60 * 60 * 1000

export interface SimSetup {
  sim: DexcomSimulator
  deps: TestDeps
  /** The config as a JSON object (for child processes). */
  raw: Record<string, unknown>
}

export async function simSetup(
  t: Teardown,
  opts: { now?: number; sim?: Partial<DexcomSimulatorOptions>; dexcom?: Record<string, unknown>; user?: DexcomSandboxUser; tokens?: boolean } = {},
): Promise<SimSetup> {
  const now = opts.now ?? START
  let clock: () => number = () => now
  const redirectUri = testConfig(t).redirectUri
  const sim = await startDexcomSimulator({
    clients: [{ clientId: CLIENT_ID, clientSecret: CLIENT_SECRET, redirectUris: [redirectUri] }],
    now: () => clock(),
    dataStartMs: DATA_START,
    ...opts.sim,
  })
  t.teardown(() => sim.close())
  const raw: Record<string, unknown> = {
    providers: {
      'dexcom-sandbox': { authorizationUrl: sim.authorizationUrl, tokenUrl: sim.tokenUrl, apiBaseUrl: sim.url, clientId: CLIENT_ID, clientSecret: CLIENT_SECRET },
    },
    dexcom: { provider: 'dexcom-sandbox', ...opts.dexcom },
  }
  const config = testConfig(t, raw)
  const deps = testDeps(t, { config, now })
  clock = () => deps.clock.now()
  if (opts.tokens !== false) writeTokens(deps, sim, opts.user)
  return { sim, deps, raw: { ...raw, dataDir: config.dataDir, authFile: config.authFile } }
}

/** Puts a fresh token pair for `user` into auth.json, as a finished connect would. */
export function writeTokens(deps: TestDeps, sim: DexcomSimulator, user?: DexcomSandboxUser, access?: string): void {
  const set = sim.issueTokens({ clientId: CLIENT_ID, ...(user ? { user } : {}) })
  mkdirSync(dirname(deps.config.authFile), { recursive: true, mode: 0o700 })
  const entry = { type: 'oauth', access: access ?? set.access_token, refresh: set.refresh_token, expires: deps.clock.now() + set.expires_in * 1000, scope: 'offline_access', tokenType: 'Bearer' }
  writeFileSync(deps.config.authFile, JSON.stringify({ 'dexcom-sandbox': entry }), { mode: 0o600 })
}

/** A sleep that spends no time: it records the wait and moves the manual clock by it. */
export function recordingSleep(deps: TestDeps): { sleep: (ms: number) => Promise<void>; waits: number[] } {
  const waits: number[] = []
  return {
    waits,
    sleep: async (ms) => {
      waits.push(ms)
      deps.clock.advance(ms)
    },
  }
}

/**
 * Every EGV recordId a twin simulator (same seed, clock, data start and user; no faults, no
 * limit) serves for [start, end), fetched independently of the code under test (plain fetch,
 * day-long windows): the reference a sync must match.
 */
export async function referenceRecordIds(t: Teardown, deps: TestDeps, start: number, end: number, user?: DexcomSandboxUser): Promise<Set<string>> {
  const twin = await startDexcomSimulator({
    clients: [{ clientId: CLIENT_ID, clientSecret: CLIENT_SECRET, redirectUris: [deps.config.redirectUri] }],
    now: () => deps.clock.now(),
    dataStartMs: DATA_START,
  })
  t.teardown(() => twin.close())
  const access = twin.issueTokens({ clientId: CLIENT_ID, ...(user ? { user } : {}) }).access_token
  const ids = new Set<string>()
  for (let a = start; a < end; a += DAY) {
    const b = Math.min(a + DAY, end)
    const q = new URLSearchParams({ startDate: new Date(a).toISOString().slice(0, 19), endDate: new Date(b).toISOString().slice(0, 19) })
    const res = await fetch(`${twin.url}/v3/users/self/egvs?${q}`, { headers: { authorization: `Bearer ${access}` } })
    if (res.status !== 200) throw new Error(`reference fetch: HTTP ${res.status}`)
    for (const r of ((await res.json()) as { records: { recordId: string }[] }).records) ids.add(r.recordId)
  }
  return ids
}

/** Every stored recordId, and whether any is stored twice. */
export function storedRecordIds(deps: TestDeps, provider = 'dexcom-sandbox'): { ids: Set<string>; rows: number } {
  const rows = deps.db.prepare('SELECT record_id FROM glucose_readings WHERE provider = ?').pluck().all(provider) as string[]
  return { ids: new Set(rows), rows: rows.length }
}
