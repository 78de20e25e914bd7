import { parseArgs } from 'node:util'
import { systemClock } from '../clock.js'
import { loadConfig, type Config } from '../config.js'
import { openDb } from '../db/open.js'
import { AppError } from '../errors.js'
import { connectCommand } from './connect.js'
import { consoleOutput, type Output } from './output.js'
import { providersCommand } from './providers.js'
import { serveCommand } from './serve.js'
import { statusCommand } from './status.js'

const USAGE = `usage: latchkey <command>

  serve                  run the daemon (HTTP callback server and scheduler)
  connect <provider>     connect a provider through the running daemon
  providers              list known providers
  status                 show every connection

Config: $LATCHKEY_CONFIG (default ~/.config/latchkey/config.json)`

/** Exit codes shared by every command. */
export const EXIT = { ok: 0, failed: 1, usage: 2, config: 3, unreachable: 4 } as const

/** Runs one CLI invocation and returns its exit code (never calls process.exit itself). */
export async function main(argv: string[], env: Record<string, string | undefined> = process.env, out: Output = consoleOutput): Promise<number> {
  const [command, ...rest] = argv
  if (!command || command === '--help' || command === '-h' || command === 'help') {
    out.info(USAGE)
    return command ? EXIT.ok : EXIT.usage
  }
  let config: Config
  try {
    config = loadConfig(env)
  } catch (err) {
    if (err instanceof AppError) {
      out.error(err.message)
      return EXIT.config
    }
    throw err
  }
  try {
    const { positionals } = parseArgs({ args: rest, allowPositionals: true, strict: true, options: {} })
    switch (command) {
      case 'serve':
        return await serveCommand(config)
      case 'connect': {
        if (positionals.length !== 1) {
          out.error('usage: latchkey connect <provider>   (see "latchkey providers")')
          return EXIT.usage
        }
        return await connectCommand(config, positionals[0] as string, out)
      }
      case 'providers':
        return providersCommand(config, out)
      case 'status': {
        const db = openDb(config.dbFile)
        try {
          return await statusCommand({ config, db, clock: systemClock }, out)
        } finally {
          db.close()
        }
      }
      default:
        out.error(`unknown command "${command.slice(0, 40)}"\n\n${USAGE}`)
        return EXIT.usage
    }
  } catch (err) {
    if (err instanceof AppError) {
      out.error(err.message)
      return err.code === 'DAEMON_UNREACHABLE' ? EXIT.unreachable : EXIT.failed
    }
    if ((err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      out.error(`${(err as Error).message}\n\n${USAGE}`)
      return EXIT.usage
    }
    throw err
  }
}
