// What /sleep and /readiness answer, from SQLite only: not connected (with a Connect button),
// first sync running, connected but no data yet (with Oura's delay), or the data.
import type { InlineKeyboard } from 'grammy'
import { connectButton } from '../../bot/texts.js'
import { getConnection } from '../../db/connections.js'
import type { Deps } from '../../deps.js'
import { dataPhase } from '../phase.js'
import type { SleepNight } from './chart.js'

type ReportDeps = Pick<Deps, 'config' | 'db' | 'clock'>

/** An answer: its text, a Connect button when not connected, the nights to chart when there are any. */
export interface OuraAnswer {
  text: string
  keyboard?: InlineKeyboard
  nights?: SleepNight[]
}

const DELAY_NOTE = "Oura sends a night's sleep once the ring has synced with the Oura app in the morning: open the app, and latchkey picks it up within 30 minutes."

/** The connected Oura provider entry, or (not connected) the one to connect: a configured sandbox before the real one. */
function ouraConnection(deps: ReportDeps, providers: readonly string[]): { provider: string } {
  const connected = providers.find((p) => getConnection(deps.db, p) !== undefined)
  return { provider: connected ?? [...providers].reverse()[0] ?? 'oura' }
}

function latestDoc(deps: ReportDeps, provider: string, type: string, where = ''): Record<string, unknown> | undefined {
  const doc = deps.db.prepare(`SELECT doc FROM oura_documents WHERE provider = ? AND type = ? ${where} ORDER BY day DESC LIMIT 1`).pluck().get(provider, type) as string | undefined
  return doc === undefined ? undefined : (JSON.parse(doc) as Record<string, unknown>)
}

const duration = (s: unknown) => (typeof s === 'number' ? `${Math.floor(s / 3600)} h ${String(Math.round((s % 3600) / 60)).padStart(2, '0')} min` : '–')
const value = (v: unknown, unit = '') => (typeof v === 'number' ? `${v}${unit}` : '–')

/** The answer when nothing is stored: not connected, first sync running, or no data yet. */
function withoutData(deps: ReportDeps, provider: string, what: string): OuraAnswer {
  const phase = dataPhase(deps.db, 'oura', provider, false)
  if (phase === 'not_connected') return { text: 'Oura is not connected. Connect it to see your sleep and readiness here.', keyboard: connectButton('Connect Oura', provider) }
  if (phase === 'first_sync') return { text: 'Oura is connected; the first sync is running (90 days of sleep, readiness, activity and heart rate). Ask again in a minute.' }
  return { text: `Oura is connected; no ${what} data yet. ${DELAY_NOTE}` }
}

/** `/sleep`: last night's score, total sleep, efficiency, stages and lowest heart rate, and 7 nights to chart. */
export function sleepAnswer(deps: ReportDeps, providers: readonly string[]): OuraAnswer {
  const { provider } = ouraConnection(deps, providers)
  const period = latestDoc(deps, provider, 'sleep', "AND json_extract(doc, '$.type') = 'long_sleep'")
  const daily = latestDoc(deps, provider, 'daily_sleep')
  if (!period && !daily) return withoutData(deps, provider, 'sleep')
  const day = String(period?.day ?? daily?.day)
  const score = daily?.day === day ? daily.score : undefined
  const lines = [
    `Last night (${day}): sleep score ${value(score)}`,
    `Total sleep ${duration(period?.total_sleep_duration)} · efficiency ${value(period?.efficiency, ' %')}`,
    `Deep ${duration(period?.deep_sleep_duration)} · REM ${duration(period?.rem_sleep_duration)} · light ${duration(period?.light_sleep_duration)} · awake ${duration(period?.awake_time)}`,
    `Lowest heart rate ${value(period?.lowest_heart_rate, ' bpm')}`,
  ]
  return { text: lines.join('\n'), nights: lastNights(deps, provider, day) }
}

/** The 7 days up to `lastDay`, each with its long sleep's total and the day's sleep score (null where none). */
function lastNights(deps: ReportDeps, provider: string, lastDay: string): SleepNight[] {
  const nights: SleepNight[] = []
  const end = Date.parse(`${lastDay}T00:00:00Z`)
  const stmt = deps.db.prepare(
    `SELECT max(CASE WHEN type = 'sleep' AND json_extract(doc, '$.type') = 'long_sleep' THEN json_extract(doc, '$.total_sleep_duration') END) AS total,
            max(CASE WHEN type = 'daily_sleep' THEN json_extract(doc, '$.score') END) AS score
     FROM oura_documents WHERE provider = ? AND day = ?`,
  )
  for (let i = 6; i >= 0; i--) {
    const day = new Date(end - i * 86_400_000).toISOString().slice(0, 10)
    const row = stmt.get(provider, day) as { total: number | null; score: number | null }
    nights.push({ day, totalSleepSeconds: row.total, score: row.score })
  }
  return nights
}

/** `/readiness`: the latest readiness score and its contributors. */
export function readinessAnswer(deps: ReportDeps, providers: readonly string[]): OuraAnswer {
  const { provider } = ouraConnection(deps, providers)
  const doc = latestDoc(deps, provider, 'daily_readiness')
  if (!doc) return withoutData(deps, provider, 'readiness')
  const contributors = Object.entries((doc.contributors ?? {}) as Record<string, unknown>)
    .map(([k, v]) => `${k.replaceAll('_', ' ').replace(/^./, (c) => c.toUpperCase())}: ${value(v)}`)
  const temp = typeof doc.temperature_deviation === 'number' ? [`Temperature deviation ${doc.temperature_deviation > 0 ? '+' : ''}${doc.temperature_deviation} °C`] : []
  return { text: [`Readiness (${String(doc.day)}): ${value(doc.score)}`, '', 'Contributors:', ...contributors, ...temp].join('\n') }
}
