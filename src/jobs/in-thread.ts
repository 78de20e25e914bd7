/** A job function run in the daemon's own thread, on demand, one run at a time. */
export interface InThreadJob {
  /** Starts a run now; during a run, queues exactly one more (the request may have come too late for it). */
  runNow(): void
  /** Stops taking requests and resolves when the current run (if any) has ended. */
  stop(): Promise<void>
}

/**
 * Runs `fn` in this thread when asked: no worker to start, no modules to load, so an event's
 * work begins at once. Requests during a run coalesce into one rerun. A failure goes to
 * `onError`; the next request runs again.
 */
export function inThreadJob(fn: () => Promise<void>, onError: (err: unknown) => void): InThreadJob {
  let running: Promise<void> | undefined
  let again = false
  let stopped = false
  const loop = async () => {
    do {
      again = false
      try {
        await fn()
      } catch (err) {
        onError(err)
      }
    } while (again && !stopped)
  }
  return {
    runNow() {
      if (stopped) return
      if (running) {
        again = true
        return
      }
      running = loop().finally(() => {
        running = undefined
      })
    },
    async stop() {
      stopped = true
      await running
    },
  }
}
