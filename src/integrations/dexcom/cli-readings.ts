import type { Clock } from '../../clock.js'
import type { Config } from '../../config.js'
import type { Db } from '../../db/open.js'
import { delayText } from './glucose-summary.js'
import { formatGlucose, mgdlToMmol, trendArrow, type Egv } from './records.js'
import { readReadings } from './store.js'
import { localTimeFormatter, parseSince } from '../../time-format.js'
import { getProvider } from '../../providers/lookup.js'
import type { Output } from '../../cli/output.js'

function csvField(v: string | number | null): string {
  if (v === null) return ''
  const s = String(v)
  return /[",\n\r]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s
}

/**
 * The readings table (a header line, then one line per reading): wall-clock time in `timeZone`,
 * which the header names, the value in `units`, the trend arrow and the device's display time.
 * `dexcom readings` and the demo print it.
 */
export function readingsTable(readings: Egv[], units: 'mg/dL' | 'mmol/L', timeZone: string): string[] {
  const local = localTimeFormatter(timeZone)
  const timeHeader = `time (${timeZone})`
  const timeWidth = Math.max(16, timeHeader.length) // 16: "2026-01-31 09:05"
  const width = units === 'mmol/L' ? 12 : 11
  const lines = readings.map((r) => {
    const value = r.value === null ? '—' : formatGlucose(r.value, units, r.status)
    return `${local(r.systemTime).padEnd(timeWidth)}  ${value.padStart(width)}  ${(trendArrow(r.trend) || ' ').padEnd(5)}  ${r.displayTime ?? ''}`
  })
  return [`${timeHeader.padEnd(timeWidth)}  ${'value'.padStart(width)}  trend  display time`, ...lines]
}

/** `latchkey dexcom readings`' options, parsed by main.ts (`since` is already known to parse). */
export interface ReadingsFlags {
  since: string
  csv?: boolean
  json?: boolean
  provider?: string
}

/**
 * `latchkey dexcom readings`: prints the stored readings (what the dexcom-sync job pulled) since
 * a time, as a table, CSV or JSON, values in `dexcom.units`. Reads SQLite only; no network.
 */
export function dexcomReadingsCommand(deps: { config: Config; db: Db; clock: Clock; timeZone: string }, values: ReadingsFlags, out: Output): number {
  const since = parseSince(values.since, deps.clock.now())
  if (since === undefined) throw new TypeError('"since" must be checked by the caller')
  const providerId = values.provider ?? deps.config.dexcom.provider
  getProvider(deps.config, providerId) // PROVIDER_UNKNOWN names the known ids
  const units = deps.config.dexcom.units
  const readings = readReadings(deps.db, providerId, since)
  const inUnits = (r: Egv) => (r.value === null ? null : units === 'mmol/L' ? mgdlToMmol(r.value) : r.value)

  if (values.json) {
    out.info(
      JSON.stringify(
        readings.map((r) => ({
          recordId: r.recordId,
          systemTime: new Date(r.systemTime).toISOString(),
          displayTime: r.displayTime,
          valueMgdl: r.value,
          value: inUnits(r),
          unit: units,
          status: r.status,
          trend: r.trend,
          trendRate: r.trendRate,
          displayDevice: r.displayDevice,
        })),
        null,
        2,
      ),
    )
    return 0
  }
  if (values.csv) {
    const header = 'record_id,system_time,display_time,value_mgdl,value,unit,status,trend,trend_rate,display_device'
    const rows = readings.map((r) =>
      [r.recordId, new Date(r.systemTime).toISOString(), r.displayTime, r.value, inUnits(r), units, r.status, r.trend, r.trendRate, r.displayDevice]
        .map(csvField)
        .join(','),
    )
    out.info([header, ...rows].join('\n'))
    return 0
  }
  if (readings.length === 0) {
    out.error(`no ${providerId} readings since ${localTimeFormatter(deps.timeZone)(since)} (${deps.timeZone}) (the daemon syncs every ${Math.round(deps.config.dexcom.syncIntervalMs / 60_000)} min; Dexcom data arrives up to ${delayText(deps.config.dexcom.dataDelayMinutes)} late)`)
    return 0
  }
  out.info(readingsTable(readings, units, deps.timeZone).join('\n'))
  return 0
}
