// Dexcom timestamps come in three forms (dexcom-api.md §3.1): no zone (receiver records, and
// query parameters: UTC), `Z`, and a numeric offset (mobile records), each with or without
// fractional seconds.

const TIMESTAMP = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?(Z|[+-]\d{2}:?\d{2})?$/i

/**
 * Epoch ms of a Dexcom timestamp, or undefined when it is not one. A timestamp without a zone
 * is read as UTC (right for `systemTime`; a zone-less `displayTime` is device wall-clock time).
 */
export function parseDexcomTime(text: string): number | undefined {
  const m = TIMESTAMP.exec(text.trim())
  if (!m) return undefined
  const [, y, mo, d, h, mi, s, frac, zone] = m
  const fields = [y, mo, d, h, mi, s ?? '0'].map(Number) as [number, number, number, number, number, number]
  const [year, month, day, hour, minute, second] = fields
  if (month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 || second > 60) return undefined
  let ms = Date.UTC(year, month - 1, day, hour, minute, second) + (frac ? Math.floor(Number(`0.${frac}`) * 1000) : 0)
  // Date.UTC rolls 31 February over into March: refuse it instead.
  if (new Date(ms).getUTCDate() !== day && second < 60) return undefined
  if (zone && zone.toUpperCase() !== 'Z') {
    const sign = zone.startsWith('-') ? -1 : 1
    const digits = zone.slice(1).replace(':', '')
    const offH = Number(digits.slice(0, 2))
    const offM = Number(digits.slice(2))
    if (offH > 23 || offM > 59) return undefined
    ms -= sign * (offH * 60 + offM) * 60_000
  }
  return ms
}

/** The UTC offset a timestamp carries, in minutes, or null when it has none (receiver records). */
export function dexcomTimeOffsetMinutes(text: string): number | null {
  const m = TIMESTAMP.exec(text.trim())
  const zone = m?.[8]
  if (!zone) return null
  if (zone.toUpperCase() === 'Z') return 0
  const digits = zone.slice(1).replace(':', '')
  return (zone.startsWith('-') ? -1 : 1) * (Number(digits.slice(0, 2)) * 60 + Number(digits.slice(2)))
}

/** A query date as Dexcom documents it: UTC, whole seconds, no offset (`2025-02-06T09:12:35`). */
export function formatDexcomQueryTime(ms: number): string {
  return new Date(Math.floor(ms / 1000) * 1000).toISOString().slice(0, 19)
}

/**
 * `lastSyncTime` for dataRange: RFC 3339 with an offset, which Dexcom requires there (TP), and
 * only when within 30 days, because older values give wrong results (dexcom-api.md §4).
 */
export function formatDexcomSyncTime(ms: number): string {
  return `${formatDexcomQueryTime(ms)}+00:00`
}

/**
 * The device's offset from UTC in minutes for a record: the offset its displayTime carries
 * (mobile apps), else displayTime's wall clock minus systemTime rounded to 15 minutes
 * (receivers), else 0.
 */
export function displayOffsetMinutes(record: { systemTime: number; displayTime: string | null }): number {
  if (record.displayTime === null) return 0
  const explicit = dexcomTimeOffsetMinutes(record.displayTime)
  if (explicit !== null) return explicit
  const wall = parseDexcomTime(record.displayTime)
  if (wall === undefined) return 0
  const minutes = Math.round((wall - record.systemTime) / (15 * 60_000)) * 15
  return Math.abs(minutes) <= 14 * 60 ? minutes : 0
}
