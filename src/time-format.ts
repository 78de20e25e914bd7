/** "in 1 h 5 min", "3 min ago": coarse, for people. */
export function humanDuration(ms: number): string {
  const abs = Math.abs(ms)
  const min = Math.round(abs / 60_000)
  const text =
    min < 1 ? 'less than a minute' : min < 60 ? `${min} min` : min < 48 * 60 ? `${Math.floor(min / 60)} h ${min % 60} min` : `${Math.round(min / 1440)} days`
  return ms >= 0 ? `in ${text}` : `${text} ago`
}

const UNIT_MS: Record<string, number> = { m: 60_000, h: 3_600_000, d: 86_400_000, w: 7 * 86_400_000 }

/** `24h`, `30m`, `7d`, `2w` back from `now`, or an ISO 8601 date; undefined when neither. */
export function parseSince(value: string, now: number): number | undefined {
  const rel = /^(\d{1,6})([mhdw])$/.exec(value.trim())
  if (rel) return now - Number(rel[1]) * (UNIT_MS[rel[2] as string] as number)
  if (!/^\d{4}-\d{2}-\d{2}/.test(value)) return undefined
  const at = Date.parse(value)
  return Number.isNaN(at) ? undefined : at
}

/**
 * The time zone for times shown to a person: `TZ` from `env` when it names an IANA zone,
 * else the system's (Node reads `TZ` for its own process already).
 */
export function resolveTimeZone(env: Record<string, string | undefined>): string {
  const tz = env.TZ?.replace(/^:/, '')
  if (tz) {
    try {
      new Intl.DateTimeFormat('en', { timeZone: tz }) // throws RangeError for a name ICU does not know
      return tz // as the user spells it (ICU would say Asia/Calcutta for Asia/Kolkata)
    } catch {
      // not an IANA name (a POSIX rule such as "EST5EDT,M3.2.0,M11.1.0"): the system's zone
    }
  }
  return Intl.DateTimeFormat().resolvedOptions().timeZone
}

/** Formats epoch ms as `2026-01-31 09:05` (24 h) wall-clock time in `timeZone`. */
export function localTimeFormatter(timeZone: string): (ms: number) => string {
  const format = new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' })
  return (ms) => {
    const p = Object.fromEntries(format.formatToParts(ms).map((part) => [part.type, part.value]))
    return `${p.year}-${p.month}-${p.day} ${p.hour}:${p.minute}`
  }
}

/** The wall-clock day (`YYYY-MM-DD`) and hour (0-23) of epoch ms in `timeZone`. */
export function localDayHour(ms: number, timeZone: string): { day: string; hour: number } {
  const stamp = localTimeFormatter(timeZone)(ms)
  return { day: stamp.slice(0, 10), hour: Number(stamp.slice(11, 13)) }
}
