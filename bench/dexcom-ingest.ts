// Dexcom ingest. (1) The first sync: pullGlucose backfilling 90 days from the Dexcom simulator
// on loopback (in a child process: generating 26k records and their JSON is the server's work,
// not ours, and took about a third of the figure when it ran in this process) into a fresh
// SQLite file: dataRange, 3 EGV windows and 3 event windows, parse, upsert, cursor. Beside it,
// in the same run: the parse alone (parseEgvs on the same three response bodies), our upsert
// alone (upsertReadings of the same rows into a fresh file, one transaction), and the floor: a
// raw better-sqlite3 prepared INSERT of the same rows and columns into a bare table, one
// transaction. (2) An incremental sync of one new hour after the backfill, beside the bare HTTP
// floor (the same dataRange, egvs and events GETs with fetch, nothing parsed or stored), with
// the simulator in this process, where the test clock can move it an hour at a time.
import Database from 'better-sqlite3'
import { fork, type ChildProcess } from 'node:child_process'
import { mkdirSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { createDexcomClient, fetchEgvs } from '../src/integrations/dexcom/client.js'
import { parseEgvs, type Egv, type RawResponse } from '../src/integrations/dexcom/records.js'
import { readReadings, upsertReadings } from '../src/integrations/dexcom/store.js'
import { pullGlucose } from '../src/integrations/dexcom/sync.js'
import { openDb } from '../src/db/open.js'
import { TokenSource } from '../src/oauth/refresh.js'
import { tempDir, testConfig, testDeps, type TestDeps } from '../test/support/deps.js'
import { CLIENT_ID, CLIENT_SECRET, DAY, START, simSetup } from '../test/integrations/dexcom/harness.js'
import type { DexcomTokenSet } from '../src/integrations/dexcom/simulator/index.js'
import { Cleanup, fixed, goal, median, percentile, stopChild, table, whole } from './support.js'

const BACKFILL_ROUNDS = 5
const INCREMENTAL_ROUNDS = 30
const HOUR = 3_600_000

const SIMULATOR_CHILD = fileURLToPath(new URL('./dexcom-simulator-child.ts', import.meta.url))

/** The simulator in a child process (bench/dexcom-simulator-child.ts) and a way to ask it things. */
async function startChildSimulator(cleanup: Cleanup): Promise<{ url: string; authorizationUrl: string; tokenUrl: string; ask<T>(op: 'issue' | 'requests' | 'paths'): Promise<T> }> {
  const child: ChildProcess = fork(SIMULATOR_CHILD, [testConfig(cleanup).redirectUri], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
  cleanup.teardown(() => stopChild(child))
  const urls = await new Promise<{ url: string; authorizationUrl: string; tokenUrl: string }>((resolve, reject) => {
    child.once('message', (m) => resolve(m as { url: string; authorizationUrl: string; tokenUrl: string }))
    child.once('exit', (code) => reject(new Error(`the simulator process exited (${code}) before it listened`)))
  })
  const waiting = new Map<number, (m: Record<string, unknown>) => void>()
  child.on('message', (m: { id?: number } & Record<string, unknown>) => m.id !== undefined && waiting.get(m.id)?.(m))
  let next = 0
  const ask = <T>(op: 'issue' | 'requests' | 'paths') =>
    new Promise<T>((resolve) => {
      const id = next++
      waiting.set(id, (m) => {
        waiting.delete(id)
        resolve(m[op === 'issue' ? 'tokens' : op] as T)
      })
      child.send({ id, op })
    })
  return { ...urls, ask }
}

/** A fresh data directory whose dexcom-sandbox provider is the child simulator, holding a new grant's tokens. */
async function childSimSetup(cleanup: Cleanup, sim: Awaited<ReturnType<typeof startChildSimulator>>): Promise<TestDeps> {
  const config = testConfig(cleanup, {
    providers: { 'dexcom-sandbox': { authorizationUrl: sim.authorizationUrl, tokenUrl: sim.tokenUrl, apiBaseUrl: sim.url, clientId: CLIENT_ID, clientSecret: CLIENT_SECRET } },
    dexcom: { provider: 'dexcom-sandbox' },
  })
  const deps = testDeps(cleanup, { config, now: START })
  const set = await sim.ask<DexcomTokenSet>('issue')
  mkdirSync(dirname(config.authFile), { recursive: true, mode: 0o700 })
  const entry = { type: 'oauth', access: set.access_token, refresh: set.refresh_token, expires: START + set.expires_in * 1000, scope: 'offline_access', tokenType: 'Bearer' }
  writeFileSync(config.authFile, JSON.stringify({ 'dexcom-sandbox': entry }), { mode: 0o600 })
  return deps
}

function rawInsert(file: string, rows: readonly Egv[]): number {
  const db = new Database(file)
  db.pragma('journal_mode = WAL')
  db.pragma('synchronous = NORMAL')
  db.exec(`CREATE TABLE r (provider TEXT, record_id TEXT, system_time INTEGER, display_time TEXT, value_mgdl REAL, status TEXT,
    trend TEXT, trend_rate REAL, unit TEXT, rate_unit TEXT, display_device TEXT, display_app TEXT, transmitter_id TEXT,
    transmitter_ticks INTEGER, transmitter_generation TEXT, transmitter_generation_variant TEXT, fetched_at INTEGER)`)
  const insert = db.prepare('INSERT INTO r VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)')
  const t0 = performance.now()
  db.transaction(() => {
    for (const e of rows)
      insert.run('dexcom', e.recordId, e.systemTime, e.displayTime, e.value, e.status, e.trend, e.trendRate, e.unit, e.rateUnit, e.displayDevice,
        e.displayApp, e.transmitterId, e.transmitterTicks, e.transmitterGeneration, e.transmitterGenerationVariant, 0)
  })()
  const ms = performance.now() - t0
  db.close()
  return ms
}

export async function dexcomIngest(): Promise<void> {
  const cleanup = new Cleanup()
  try {
    const full: number[] = []
    const parse: number[] = []
    const upsert: number[] = []
    const raw: number[] = []
    const gets: number[] = []
    let readings = 0
    let events = 0
    let requests = 0
    let rows: Egv[] = []
    let bodies: RawResponse[] = []
    const childSim = await startChildSimulator(cleanup)
    for (let round = 0; round <= BACKFILL_ROUNDS; round++) {
      const deps = await childSimSetup(cleanup, childSim)
      const served = await childSim.ask<number>('requests')
      const t0 = performance.now()
      const summary = await pullGlucose(deps)
      const ms = performance.now() - t0
      if (summary.status !== 'synced') throw new Error(`sync ended ${summary.status}: ${summary.error ?? ''}`)
      if (round === 0) {
        // Warm-up round; keep its rows and bodies for the component measurements.
        rows = readReadings(deps.db, 'dexcom-sandbox', 0)
        const client = createDexcomClient(deps, new TokenSource(deps), 'dexcom-sandbox')
        const cursor = START - 90 * DAY
        for (let a = cursor; a < START; a += 30 * DAY) bodies.push(await fetchEgvs(client, { start: a, end: Math.min(a + 30 * DAY, START) }))
        continue
      }
      full.push(ms)
      readings = summary.egvs.added
      events = summary.events.added
      requests = (await childSim.ask<number>('requests')) - served

      const p0 = performance.now()
      let parsed = 0
      for (const body of bodies) parsed += parseEgvs(body).records.length
      parse.push(performance.now() - p0)
      if (parsed !== rows.length) throw new Error(`parsed ${parsed}, stored ${rows.length}`)

      const dir = tempDir(cleanup)
      const db = openDb(join(dir, 'ours.db'))
      const u0 = performance.now()
      db.transaction(() => upsertReadings(db, 'dexcom-sandbox', rows, 0))()
      upsert.push(performance.now() - u0)
      db.close()
      raw.push(rawInsert(join(dir, 'raw.db'), rows))
      // The same GETs from the replay, each body through JSON.parse: the HTTP floor.
      const g0 = performance.now()
      for (const path of await childSim.ask<string[]>('paths')) JSON.parse(await (await fetch(`${childSim.url}${path}`)).text())
      gets.push(performance.now() - g0)
    }
    bodies = []
    const perSecond = (ms: number) => whole((rows.length / ms) * 1000)
    console.log(
      `  90-day backfill: ${whole(readings)} readings (${whole(rows.length)} stored; 25,920 without the simulator's sensor warm-up gaps) and ` +
        `${whole(events)} events in ${requests} requests to the simulator in its own process; median of ${BACKFILL_ROUNDS} rounds after one warm-up, each on a fresh SQLite file`,
    )
    console.log(
      table(
        ['', 'median ms', 'min ms', 'readings/s'],
        [
          ['pullGlucose: HTTP + parse + upsert + cursor (egvs and events)', fixed(median(full)), fixed(Math.min(...full)), perSecond(median(full))],
          ['  parseEgvs alone (3 bodies)', fixed(median(parse)), fixed(Math.min(...parse)), perSecond(median(parse))],
          ['  upsertReadings alone (one transaction)', fixed(median(upsert)), fixed(Math.min(...upsert)), perSecond(median(upsert))],
          ['raw prepared INSERT, same rows (floor)', fixed(median(raw)), fixed(Math.min(...raw)), perSecond(median(raw))],
          ['ratio upsertReadings / raw INSERT', `${fixed(median(upsert) / median(raw), 2)}×`, '', ''],
          ['same GETs, fetch + JSON.parse', fixed(median(gets)), fixed(Math.min(...gets)), perSecond(median(gets))],
          ['floor: GETs + parse + raw INSERT (medians summed)', fixed(median(gets) + median(raw)), '', ''],
          ['ratio pullGlucose / floor', `${fixed(median(full) / (median(gets) + median(raw)), 2)}×`, '', ''],
        ],
      ),
    )
    console.log(goal('90-day backfill, pullGlucose median', `${fixed(median(full))} ms`, '≤ 600 ms', median(full) <= 600))

    // (2) One new hour after the backfill, repeatedly.
    const { sim, deps } = await simSetup(cleanup)
    await pullGlucose(deps)
    const token = JSON.parse((await import('node:fs')).readFileSync(deps.config.authFile, 'utf8'))['dexcom-sandbox'].access as string
    const incremental: number[] = []
    const floor: number[] = []
    const added: number[] = []
    for (let i = 0; i < INCREMENTAL_ROUNDS; i++) {
      deps.clock.advance(HOUR)
      const before = sim.requests.length
      const t0 = performance.now()
      const summary = await pullGlucose(deps)
      incremental.push(performance.now() - t0)
      if (summary.status !== 'synced') throw new Error(`incremental sync ended ${summary.status}`)
      added.push(summary.egvs.added)
      // The same GETs, bare.
      const same = sim.requests.slice(before).filter((r) => r.path.startsWith('/v3/'))
      const f0 = performance.now()
      for (const r of same) {
        const res = await fetch(`${sim.url}${r.path}?${new URLSearchParams(r.query)}`, { headers: { authorization: `Bearer ${token}` } })
        await res.arrayBuffer()
      }
      floor.push(performance.now() - f0)
    }
    const sorted = (a: number[]) => [...a].sort((x, y) => x - y)
    console.log(
      `  incremental sync of one new hour (${fixed(median(added), 0)} readings; the window re-reads the 1 h overlap too), ` +
        `${INCREMENTAL_ROUNDS} rounds, 3 GETs each (dataRange, egvs, events); token refreshes happen every 2nd round (2 h tokens)`,
    )
    console.log(
      table(
        ['', 'median ms', 'p90 ms', 'max ms'],
        [
          ['pullGlucose, one hour', fixed(median(incremental), 2), fixed(percentile(sorted(incremental), 90), 2), fixed(Math.max(...incremental), 2)],
          ['bare fetch of the same GETs (floor)', fixed(median(floor), 2), fixed(percentile(sorted(floor), 90), 2), fixed(Math.max(...floor), 2)],
        ],
      ),
    )
  } finally {
    await cleanup.run()
  }
}
