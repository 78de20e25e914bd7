// What /glucose sends: the summary text and, when there are readings, the 24-hour chart.
import type { Deps } from '../../deps.js'
import { renderGlucoseChart } from './chart.js'
import { DAY_MS, glucoseSummaryText } from './glucose-summary.js'
import { latestReading, readReadings } from './store.js'
import { displayOffsetMinutes } from './time.js'

export interface GlucoseReport {
  text: string
  /** Readings to draw: false when there is nothing to draw (then no chart is rendered or sent). */
  hasChart: boolean
  /** Renders the chart of the last 24 h (a PNG; run it only when hasChart). */
  chart(): Promise<Buffer>
}

/** Reads the stored readings of `config.dexcom.provider` and builds the /glucose answer. */
export function glucoseReport(deps: Pick<Deps, 'config' | 'db' | 'clock'>): GlucoseReport {
  const { provider, units, lowMgdl, highMgdl, dataDelayMinutes } = deps.config.dexcom
  const now = deps.clock.now()
  const latest = latestReading(deps.db, provider)
  const lastDay = readReadings(deps.db, provider, now - DAY_MS, now + 1)
  const text = glucoseSummaryText({ latest, lastDay, now, units, lowMgdl, highMgdl, dataDelayMinutes })
  const utcOffsetMinutes = latest ? displayOffsetMinutes(latest) : 0
  return {
    text,
    hasChart: lastDay.some((r) => r.value !== null),
    chart: () => renderGlucoseChart(lastDay, { now, lowMgdl, highMgdl, units, utcOffsetMinutes, dataDelayMinutes }),
  }
}
