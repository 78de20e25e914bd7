import type { FastifyInstance } from 'fastify'
import { setTimeout as sleep } from 'node:timers/promises'
import type { Logger } from '../log.js'

const RETRY_FIRST_MS = 500
const RETRY_MAX_MS = 15_000

/**
 * Listens on exactly `host`. A tailnet address can be missing for a while after boot
 * (tailscaled reports ready before its address is bindable: tailscale/tailscale#11504), which
 * shows as EADDRNOTAVAIL: wait with backoff and try the same address again, never another
 * interface. Other errors (EADDRINUSE, EACCES) are thrown at once.
 */
export async function listenWithRetry(
  app: Pick<FastifyInstance, 'listen'>,
  host: string,
  port: number,
  log: Logger,
  /** The start-up line fastify logs once listening (instead of its "Server listening at"). */
  listenText?: (address: string) => string,
): Promise<string> {
  for (let delay = RETRY_FIRST_MS; ; delay = Math.min(delay * 2, RETRY_MAX_MS)) {
    try {
      return await app.listen({ host, port, ...(listenText ? { listenTextResolver: listenText } : {}) })
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EADDRNOTAVAIL') throw err
      log.warn({ host, port, retryInMs: delay }, 'listen address not available yet (is the tailnet up?); retrying')
      await sleep(delay)
    }
  }
}
