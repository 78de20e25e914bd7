/** "in 1 h 5 min", "3 min ago": coarse, for people. */
export function humanDuration(ms: number): string {
  const abs = Math.abs(ms)
  const min = Math.round(abs / 60_000)
  const text =
    min < 1 ? 'less than a minute' : min < 60 ? `${min} min` : min < 48 * 60 ? `${Math.floor(min / 60)} h ${min % 60} min` : `${Math.round(min / 1440)} days`
  return ms >= 0 ? `in ${text}` : `${text} ago`
}
