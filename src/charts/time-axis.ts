// Local-time labels for a chart's x axis. Times are epoch ms; the local time is UTC plus a fixed
// offset (a Dexcom reading carries its device's offset, which is the user's wall clock).

const WEEKDAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat']
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec']
const HOUR_MS = 3_600_000

const local = (ms: number, offsetMinutes: number) => new Date(ms + offsetMinutes * 60_000)
const two = (n: number) => String(n).padStart(2, '0')

/** "14:05" in local time. */
export function clockLabel(ms: number, offsetMinutes: number): string {
  const d = local(ms, offsetMinutes)
  return `${two(d.getUTCHours())}:${two(d.getUTCMinutes())}`
}

/** "Tue 24 Nov" in local time. */
export function dayLabel(ms: number, offsetMinutes: number): string {
  const d = local(ms, offsetMinutes)
  return `${WEEKDAYS[d.getUTCDay()]} ${d.getUTCDate()} ${MONTHS[d.getUTCMonth()]}`
}

/** "UTC", "UTC+1", "UTC−8", "UTC+5:30" (a real minus sign, as clocks print it). */
export function offsetLabel(offsetMinutes: number): string {
  if (offsetMinutes === 0) return 'UTC'
  const abs = Math.abs(offsetMinutes)
  return `UTC${offsetMinutes < 0 ? '−' : '+'}${Math.floor(abs / 60)}${abs % 60 ? `:${two(abs % 60)}` : ''}`
}

/** "Tue 24 Nov 12:00 – Wed 25 Nov 12:00 (UTC−8)": the span a chart shows, said once. */
export function spanLabel(from: number, to: number, offsetMinutes: number): string {
  const sameDay = dayLabel(from, offsetMinutes) === dayLabel(to, offsetMinutes)
  const end = sameDay ? clockLabel(to, offsetMinutes) : `${dayLabel(to, offsetMinutes)} ${clockLabel(to, offsetMinutes)}`
  return `${dayLabel(from, offsetMinutes)} ${clockLabel(from, offsetMinutes)} – ${end} (${offsetLabel(offsetMinutes)})`
}

export interface TimeTick {
  time: number
  /** "15:00", or the weekday at local midnight ("Wed"), where the date changes. */
  label: string
  midnight: boolean
}

/** Ticks on whole local hours that are multiples of `everyHours`, inside [from, to]. */
export function hourTicks(from: number, to: number, everyHours: number, offsetMinutes: number): TimeTick[] {
  const step = everyHours * HOUR_MS
  const shift = offsetMinutes * 60_000
  const ticks: TimeTick[] = []
  for (let t = Math.ceil((from + shift) / step) * step - shift; t <= to; t += step) {
    const midnight = local(t, offsetMinutes).getUTCHours() === 0
    ticks.push({ time: t, label: midnight ? WEEKDAYS[local(t, offsetMinutes).getUTCDay()] as string : clockLabel(t, offsetMinutes), midnight })
  }
  return ticks
}
