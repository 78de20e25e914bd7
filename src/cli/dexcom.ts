import { parseArgs } from 'node:util'
import type { Clock } from '../clock.js'
import type { Config } from '../config.js'
import type { Db } from '../db/open.js'
import { delayText } from '../dexcom/glucose-summary.js'
import { formatGlucose, mgdlToMmol, trendArrow, type Egv } from '../dexcom/records.js'
import { readReadings } from '../dexcom/store.js'
import { getProvider } from '../providers/lookup.js'
import type { Output } from './output.js'

/** The options `latchkey dexcom` accepts (main.ts hands them to parseArgs). */
export const DEXCOM_OPTIONS = {
  since: { type: 'string' },
  csv: { type: 'boolean' },
  json: { type: 'boolean' },
  provider: { type: 'string' },
} as const

export const DEXCOM_USAGE = 'usage: latchkey dexcom readings [--since 24h|7d|30m|2026-01-31T08:00Z] [--csv | --json] [--provider ID]'

const UNIT_MS: Record<string, number> = { m: 60_000, h: 3_600_000, d: 86_400_000, w: 7 * 86_400_000 }

/** `24h`, `30m`, `7d`, `2w` back from `now`, or an ISO 8601 date; undefined when neither. */
export function parseSince(value: string, now: number): number | undefined {
  const rel = /^(\d{1,6})([mhdw])$/.exec(value.trim())
  if (rel) return now - Number(rel[1]) * (UNIT_MS[rel[2] as string] as number)
  if (!/^\d{4}-\d{2}-\d{2}/.test(value)) return undefined
  const at = Date.parse(value)
  return Number.isNaN(at) ? undefined : at
}

function csvField(v: string | number | null): string {
  if (v === null) return ''
  const s = String(v)
  return /[",\n\r]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s
}

/**
 * `latchkey dexcom readings`: prints the stored readings (what the dexcom-sync job pulled) since
 * a time, as a table, CSV or JSON, values in `dexcom.units`. Reads SQLite only; no network.
 */
export function dexcomCommand(deps: { config: Config; db: Db; clock: Clock }, args: string[], out: Output): number {
  const { positionals, values } = parseArgs({ args, allowPositionals: true, strict: true, options: DEXCOM_OPTIONS })
  const since = parseSince(values.since ?? '24h', deps.clock.now())
  if (positionals.length !== 1 || positionals[0] !== 'readings' || since === undefined || (values.csv && values.json)) {
    out.error(DEXCOM_USAGE)
    return 2
  }
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
    out.error(`no ${providerId} readings since ${new Date(since).toISOString()} (the daemon syncs every ${Math.round(deps.config.dexcom.syncIntervalMs / 60_000)} min; Dexcom data arrives up to ${delayText(deps.config.dexcom.dataDelayMinutes)} late)`)
    return 0
  }
  const lines = readings.map((r) => {
    const when = `${new Date(r.systemTime).toISOString().slice(0, 16).replace('T', ' ')}Z`
    const value = r.value === null ? '—' : formatGlucose(r.value, units, r.status)
    return `${when}  ${value.padStart(units === 'mmol/L' ? 12 : 11)}  ${trendArrow(r.trend) || ' '}  ${r.displayTime ?? ''}`
  })
  out.info([`time (UTC)         ${'value'.padStart(units === 'mmol/L' ? 12 : 11)}  trend  display time`, ...lines].join('\n'))
  return 0
}
