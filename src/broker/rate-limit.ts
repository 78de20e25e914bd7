/**
 * A fixed one-minute window per caller, in memory (one daemon process): enough to bound what a
 * runaway or hijacked agent can do; the window restarts with the process.
 */
export class CallerRateLimit {
  readonly #perMinute: number
  readonly #windows = new Map<string, { start: number; count: number }>()

  constructor(perMinute: number) {
    this.#perMinute = perMinute
  }

  /** Counts one request; returns 0 when allowed, else the seconds until the window resets. */
  take(caller: string, now: number): number {
    let w = this.#windows.get(caller)
    if (!w || now - w.start >= 60_000) {
      w = { start: now, count: 0 }
      this.#windows.set(caller, w)
    }
    if (w.count >= this.#perMinute) return Math.max(1, Math.ceil((w.start + 60_000 - now) / 1000))
    w.count++
    return 0
  }
}
