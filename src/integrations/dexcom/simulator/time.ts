// Timestamp forms of Dexcom's v3 API (dexcom-api.md §3.1): query dates are ISO 8601 without offset
// and read as UTC (a `Z` or an offset is accepted and normalised); `systemTime` is UTC without
// offset; `displayTime` is device-local, with an offset for mobile records and without for receivers.

const QUERY_DATE = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:\d{2})?$/

/** Parses a query date; undefined when the form or a field is invalid. */
export function parseQueryDate(text: string): number | undefined {
  const m = QUERY_DATE.exec(text)
  if (!m) return undefined
  const [, y, mo, d, h, mi, s, frac, zone] = m
  const year = Number(y)
  const month = Number(mo)
  const day = Number(d)
  const hour = Number(h)
  const minute = Number(mi)
  const second = Number(s)
  if (month < 1 || month > 12 || hour > 23 || minute > 59 || second > 59) return undefined
  const ms = Date.UTC(year, month - 1, day, hour, minute, second, frac ? Number(frac.slice(0, 3).padEnd(3, '0')) : 0)
  // Date.UTC rolls 2025-02-30 over into March: reject instead.
  if (new Date(ms).getUTCDate() !== day) return undefined
  let offsetMinutes = 0
  if (zone && zone !== 'Z') {
    const sign = zone.startsWith('-') ? -1 : 1
    const oh = Number(zone.slice(1, 3))
    const om = Number(zone.slice(4, 6))
    if (oh > 14 || om > 59) return undefined
    offsetMinutes = sign * (oh * 60 + om)
  }
  return ms - offsetMinutes * 60_000
}

function pad(n: number, width = 2): string {
  return String(n).padStart(width, '0')
}

/** `2025-02-06T17:10:00`: the clock fields of `ms` read in UTC, no zone. */
export function isoNoZone(ms: number): string {
  const d = new Date(ms)
  return `${pad(d.getUTCFullYear(), 4)}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}T${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}`
}

/** `+05:30` / `-08:00` */
export function offsetSuffix(offsetMinutes: number): string {
  const sign = offsetMinutes < 0 ? '-' : '+'
  const abs = Math.abs(offsetMinutes)
  return `${sign}${pad(Math.floor(abs / 60))}:${pad(abs % 60)}`
}

/** Dexcom `systemTime`: UTC without offset. */
export function systemTime(ms: number): string {
  return isoNoZone(ms)
}

/** Dexcom `displayTime`: local wall clock; mobile records carry the offset, receiver records do not. */
export function displayTime(ms: number, offsetMinutes: number, withOffset: boolean): string {
  const local = isoNoZone(ms + offsetMinutes * 60_000)
  return withOffset ? local + offsetSuffix(offsetMinutes) : local
}

/** Minutes since 00:00 UTC for 'HH:MM'; undefined when malformed. */
export function parseHhMm(text: string): number | undefined {
  const m = /^(\d{2}):(\d{2})$/.exec(text)
  if (!m) return undefined
  const h = Number(m[1])
  const min = Number(m[2])
  return h < 24 && min < 60 ? h * 60 + min : undefined
}
