import type { Config } from '../config.js'
import { startDaemon } from '../daemon.js'

/**
 * `latchkey serve`: runs the daemon until SIGINT (pm2) or SIGTERM, then closes the HTTP server,
 * stops the scheduler (bounded) and closes the database. Tells pm2 it is ready once listening.
 */
export async function serveCommand(config: Config): Promise<number> {
  const daemon = await startDaemon(config)
  process.send?.('ready')
  await new Promise<void>((resolve) => {
    const stop = (signal: string) => {
      daemon.deps.log.info({ signal }, 'stopping')
      resolve()
    }
    process.once('SIGINT', () => stop('SIGINT'))
    process.once('SIGTERM', () => stop('SIGTERM'))
  })
  await daemon.close()
  return 0
}
