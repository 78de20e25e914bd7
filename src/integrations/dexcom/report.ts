// What /glucose sends: not connected (with a Connect button), first sync running, connected
// without readings yet (with Dexcom's delay), or the summary and the 24-hour chart.
import type { InlineKeyboard } from 'grammy'
import { connectButton } from '../../bot/texts.js'
import type { Deps } from '../../deps.js'
import { dataPhase } from '../phase.js'
import { renderGlucoseChart } from './chart.js'
import { DAY_MS, delayText, glucoseSummaryText } from './glucose-summary.js'
import { latestReading, readReadings } from './store.js'
import { displayOffsetMinutes } from './time.js'

export interface GlucoseReport {
  text: string
  /** A Connect button when Dexcom is not connected. */
  keyboard?: InlineKeyboard
  /** Readings to draw: false when there is nothing to draw (then no chart is rendered or sent). */
  hasChart: boolean
  /** Renders the chart of the last 24 h (a PNG; run it only when hasChart). */
  chart(): Promise<Buffer>
}

/** Reads the stored readings of `config.dexcom.provider` and builds the /glucose answer. */
export function glucoseReport(deps: Pick<Deps, 'config' | 'db' | 'clock'>): GlucoseReport {
  const { provider, units, lowMgdl, highMgdl, dataDelayMinutes, backfillDays } = deps.config.dexcom
  const now = deps.clock.now()
  const latest = latestReading(deps.db, provider)
  const lastDay = readReadings(deps.db, provider, now - DAY_MS, now + 1)
  const utcOffsetMinutes = latest ? displayOffsetMinutes(latest) : 0
  const chart = () => renderGlucoseChart(lastDay, { now, lowMgdl, highMgdl, units, utcOffsetMinutes, dataDelayMinutes })
  const phase = dataPhase(deps.db, 'dexcom', provider, latest !== undefined)
  if (phase === 'not_connected') return { text: 'Dexcom is not connected. Connect it to see your glucose here.', keyboard: connectButton('Connect Dexcom', provider), hasChart: false, chart }
  if (phase === 'first_sync') return { text: `Dexcom is connected; the first sync is running (up to ${backfillDays} days of readings). Ask again in a minute.`, hasChart: false, chart }
  if (phase === 'no_data') return { text: `Dexcom is connected; no readings yet. Dexcom sends readings up to ${delayText(dataDelayMinutes)} late, and latchkey picks them up within ${Math.round(deps.config.dexcom.syncIntervalMs / 60_000)} min.`, hasChart: false, chart }
  const text = glucoseSummaryText({ latest, lastDay, now, units, lowMgdl, highMgdl, dataDelayMinutes })
  return { text, hasChart: lastDay.some((r) => r.value !== null), chart }
}
