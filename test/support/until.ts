/** Polls `fn` until it returns something truthy or `ms` pass: for state a peer writes just after it answers
 * (a log line, a row, a Bot API call). Returns the last value, so the caller's assertion still decides. */
export async function until<T>(fn: () => T, ms = 5_000): Promise<T> {
  const end = Date.now() + ms
  for (;;) {
    const v = fn()
    if (v || Date.now() > end) return v
    await new Promise((r) => setTimeout(r, 20))
  }
}
