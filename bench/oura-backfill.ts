// Oura 90-day backfill: pullOura against the Oura simulator on loopback (in this process, so its
// document generation is inside the figure) into a fresh SQLite file: daily_sleep, sleep,
// daily_readiness, daily_activity and heartrate, every next_token page, upserts and cursors.
// Beside it, in the same run, the floor: the same GETs (same queries and pages) with fetch and
// JSON.parse, plus a raw better-sqlite3 prepared INSERT of the same rows into bare tables in one
// transaction. Goals: ≤ 1 s wall on a 2-core box (the first sync starts in a worker when Oura
// connects; a newcomer who types /sleep after the ✅ should find the data, not "first sync
// running"), and ≤ 2× the floor (what our own code may cost on top of the unavoidable: token
// source, per-stream transactions, upserts, the JSON kept per document).
import Database from 'better-sqlite3'
import { mkdirSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { startOuraSimulator } from '../src/integrations/oura/simulator.js'
import { pullOura } from '../src/integrations/oura/sync.js'
import { tempDir, testConfig, testDeps } from '../test/support/deps.js'
import { Cleanup, fixed, goal, median, table, whole } from './support.js'

const ROUNDS = 5
const NOW = Date.UTC(2026, 10, 25, 12, 0, 0)
const SECRET = 'bench-oura-secret'

type Page = { data: Record<string, unknown>[] }

/** A fresh database with tokens for a fresh simulator user; returns what one round needs. */
async function setup(cleanup: Cleanup) {
  const sim = await startOuraSimulator({ clientId: 'bench', clientSecret: SECRET, now: () => NOW })
  cleanup.teardown(() => sim.close())
  const config = testConfig(cleanup, {
    providers: { 'oura-sandbox': { displayName: 'Oura Sandbox', authorizationUrl: sim.authorizationUrl, tokenUrl: sim.tokenUrl, apiBaseUrl: sim.url, clientId: 'bench', clientSecret: SECRET, rotation: 'single-use', usePkce: false } },
    logLevel: 'warn',
  })
  const deps = testDeps(cleanup, { config, now: NOW })
  const set = sim.issueTokens('sleeper-ada')
  mkdirSync(dirname(config.authFile), { recursive: true, mode: 0o700 })
  writeFileSync(config.authFile, JSON.stringify({ 'oura-sandbox': { type: 'oauth', access: set.access_token, refresh: set.refresh_token, expires: NOW + 3_600_000, scope: set.scope } }), { mode: 0o600 })
  return { sim, deps, token: set.access_token }
}

function rawInsert(file: string, docs: { type: string; doc: Record<string, unknown> }[], samples: Record<string, unknown>[]): number {
  const db = new Database(file)
  db.pragma('journal_mode = WAL')
  db.pragma('synchronous = NORMAL')
  db.exec('CREATE TABLE d (provider TEXT, type TEXT, id TEXT, day TEXT, doc TEXT, fetched_at INTEGER); CREATE TABLE h (provider TEXT, time INTEGER, bpm INTEGER, source TEXT)')
  const doc = db.prepare('INSERT INTO d VALUES (?, ?, ?, ?, ?, ?)')
  const hr = db.prepare('INSERT INTO h VALUES (?, ?, ?, ?)')
  const t0 = performance.now()
  db.transaction(() => {
    for (const d of docs) doc.run('oura', d.type, d.doc.id, d.doc.day, JSON.stringify(d.doc), 0)
    for (const s of samples) hr.run('oura', Date.parse(String(s.timestamp)), s.bpm, s.source)
  })()
  const ms = performance.now() - t0
  db.close()
  return ms
}

export async function ouraBackfill(): Promise<void> {
  const cleanup = new Cleanup()
  try {
    const full: number[] = []
    const fetchFloor: number[] = []
    const insertFloor: number[] = []
    let rows = 0
    let requests = 0
    for (let round = 0; round <= ROUNDS; round++) {
      const { sim, deps, token } = await setup(cleanup)
      const t0 = performance.now()
      const summary = await pullOura(deps, 'oura-sandbox')
      const ms = performance.now() - t0
      if (summary.status !== 'synced') throw new Error(`sync ended ${summary.status}: ${summary.error ?? ''}`)
      if (round === 0) continue // warm-up
      full.push(ms)
      rows = Object.values(summary.rows).reduce((a, b) => a + b, 0)
      requests = sim.requests.length
      // The floor: the same GETs, parsed and kept, nothing else.
      const docs: { type: string; doc: Record<string, unknown> }[] = []
      const samples: Record<string, unknown>[] = []
      const f0 = performance.now()
      for (const r of sim.requests.slice(0, requests)) {
        const res = await fetch(`${sim.url}${r.path}?${new URLSearchParams(r.query)}`, { headers: { authorization: `Bearer ${token}` } })
        const page = (await res.json()) as Page
        const type = r.path.slice(r.path.lastIndexOf('/') + 1)
        if (type === 'heartrate') samples.push(...page.data)
        else for (const doc of page.data) docs.push({ type, doc })
      }
      fetchFloor.push(performance.now() - f0)
      insertFloor.push(rawInsert(join(tempDir(cleanup), 'raw.db'), docs, samples))
      if (docs.length + samples.length !== rows) throw new Error(`floor has ${docs.length + samples.length} rows, the sync stored ${rows}`)
    }
    const floor = fetchFloor.map((f, i) => f + (insertFloor[i] ?? 0))
    const perSecond = (ms: number) => whole((rows / ms) * 1000)
    console.log(`  90-day backfill of sleeper-ada: ${whole(rows)} rows (documents of 4 collections + heart-rate samples) in ${requests} requests; median of ${ROUNDS} rounds after one warm-up, each on a fresh SQLite file`)
    console.log(
      table(
        ['', 'median ms', 'min ms', 'rows/s'],
        [
          ['pullOura: HTTP + pages + upserts + cursors, 5 types', fixed(median(full)), fixed(Math.min(...full)), perSecond(median(full))],
          ['  same GETs, fetch + JSON.parse', fixed(median(fetchFloor)), fixed(Math.min(...fetchFloor)), perSecond(median(fetchFloor))],
          ['  raw prepared INSERT of the same rows', fixed(median(insertFloor)), fixed(Math.min(...insertFloor)), perSecond(median(insertFloor))],
          ['floor: fetch + parse + raw INSERT (baseline)', fixed(median(floor)), fixed(Math.min(...floor)), perSecond(median(floor))],
          ['ratio pullOura / floor', `${fixed(median(full) / median(floor), 2)}×`, '', ''],
        ],
      ),
    )
    console.log(goal('90-day Oura backfill, pullOura median wall time', `${fixed(median(full))} ms`, '≤ 1000 ms', median(full) <= 1000))
    console.log(goal('pullOura / floor', `${fixed(median(full) / median(floor), 2)}×`, '≤ 2×', median(full) / median(floor) <= 2))
  } finally {
    await cleanup.run()
  }
}
