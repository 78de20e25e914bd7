import type { Clock } from '../../clock.js'
import type { Output } from '../../cli/output.js'
import type { Db } from '../../db/open.js'
import { parseSince } from '../../time-format.js'
import { readDaily, type OuraDay } from './store.js'

const COLUMNS: (keyof OuraDay)[] = ['day', 'sleepScore', 'readinessScore', 'activityScore', 'totalSleepSeconds', 'steps']

/**
 * `latchkey oura daily --since 7d [--csv|--json]` (contract, issue 13): one row per day Oura has
 * any data for, null where it has none. Reads SQLite only. Exit 0, or 1 when a --provider has no data.
 */
export function ouraDailyCommand(deps: { db: Db; clock: Clock }, providers: string[], flags: { since: string; csv?: boolean; json?: boolean; provider?: string }, out: Output): number {
  const since = new Date(parseSince(flags.since, deps.clock.now()) as number).toISOString().slice(0, 10)
  const has = (p: string) => deps.db.prepare('SELECT 1 FROM oura_documents WHERE provider = ? LIMIT 1').get(p) !== undefined
  const provider = flags.provider ?? providers.find(has) ?? providers[0] as string
  const days = readDaily(deps.db, provider, since)
  if (flags.json) out.info(JSON.stringify(days, null, 2))
  else if (flags.csv) out.info([COLUMNS.join(','), ...days.map((d) => COLUMNS.map((c) => d[c] ?? '').join(','))].join('\n'))
  else if (days.length === 0) out.info(`No Oura data since ${since} (provider ${provider}).`)
  else out.info(dailyTable(days).join('\n'))
  return 0
}

/** The text table of `oura daily` (the demo prints the same): a heading, then a line per day, – where none. */
export function dailyTable(days: readonly OuraDay[]): string[] {
  const cell = (v: string | number | null) => String(v ?? '–')
  return [`day         sleep  ready  activity  sleep h  steps`, ...days.map((d) => `${d.day}  ${cell(d.sleepScore).padStart(5)}  ${cell(d.readinessScore).padStart(5)}  ${cell(d.activityScore).padStart(8)}  ${(d.totalSleepSeconds === null ? '–' : (d.totalSleepSeconds / 3600).toFixed(1)).padStart(7)}  ${cell(d.steps).padStart(5)}`)]
}
