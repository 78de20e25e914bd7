import { parseArgs } from 'node:util'
import { systemClock } from '../clock.js'
import { loadConfig, type Config } from '../config.js'
import { openDb, type Db } from '../db/open.js'
import { AppError } from '../errors.js'
import { consoleOutput, type Output } from './output.js'
// serve, demo, simulate, doctor and connect are imported when run: they pull in fastify, grammY,
// Bree and the simulator, which `latchkey token` (called often by scripts) should not pay for.
import { providersCommand } from './providers.js'
import { statusCommand } from './status.js'
import { tokenCommand } from './token.js'
import { DEXCOM_OPTIONS, dexcomCommand } from './dexcom.js'

const USAGE = `usage: latchkey <command>

  serve                  run the daemon (HTTP callback server and scheduler)
  connect <provider>     connect a provider through the running daemon
  token <provider>       print a fresh access token (exit 5 not connected,
                         6 needs reconnecting, 7 provider unreachable)
      [--min-validity S] seconds the token must stay valid (default 60)
  providers              list known providers
  status                 show every connection
  doctor                 check config, certificate, tailnet exposure and file modes
  dexcom readings        print stored glucose readings
      [--since 24h] [--csv | --json] [--provider ID]
  demo                   the Dexcom simulator and the daemon on loopback: connect
                         a sandbox user in a browser and see readings (no account)
  simulate dexcom        run the local Dexcom simulator on loopback and print
      [--port N]         the config that points dexcom-sandbox at it
                         (see "latchkey simulate --help"; needs no config)

Config: $LATCHKEY_CONFIG (default ~/.config/latchkey/config.json)`

/** Opens the database for one local command and always closes it. */
async function withDb<T>(config: Config, fn: (db: Db) => T | Promise<T>): Promise<T> {
  const db = openDb(config.dbFile)
  try {
    return await fn(db)
  } finally {
    db.close()
  }
}

/** Exit codes shared by every command. */
export const EXIT = { ok: 0, failed: 1, usage: 2, config: 3, unreachable: 4 } as const

/** Runs one CLI invocation and returns its exit code (never calls process.exit itself). */
export async function main(argv: string[], env: Record<string, string | undefined> = process.env, out: Output = consoleOutput): Promise<number> {
  const [command, ...rest] = argv
  if (!command || command === '--help' || command === '-h' || command === 'help') {
    out.info(USAGE)
    return command ? EXIT.ok : EXIT.usage
  }
  // The simulator stands in for Dexcom before any config exists (the demo writes one for it).
  if (command === 'simulate') return (await import('./simulate.js')).simulateCommand(rest, env, out)
  if (command === 'demo') return (await import('./demo.js')).demoCommand(env, out)
  let config: Config
  try {
    config = loadConfig(env)
  } catch (err) {
    if (err instanceof AppError) {
      // doctor reports a bad config as its first failed check rather than as a crash.
      // doctor: one ❌ line per problem, like its other checks.
      if (command === 'doctor') for (const line of err.message.split('\n')) out.info(`❌ ${line.trim()}`)
      else out.error(err.message)
      return command === 'doctor' ? EXIT.failed : EXIT.config
    }
    throw err
  }
  try {
    const { positionals, values } = parseArgs({
      args: rest,
      allowPositionals: true,
      strict: true,
      options: command === 'token' ? { 'min-validity': { type: 'string' } } : command === 'dexcom' ? DEXCOM_OPTIONS : {},
    })
    switch (command) {
      case 'serve':
        return await (await import('./serve.js')).serveCommand(config)
      case 'connect': {
        if (positionals.length !== 1) {
          out.error('usage: latchkey connect <provider>   (see "latchkey providers")')
          return EXIT.usage
        }
        return await (await import('./connect.js')).connectCommand(config, positionals[0] as string, out)
      }
      case 'token': {
        const minValidity = values['min-validity'] === undefined ? 60 : Number(values['min-validity'])
        if (positionals.length !== 1 || !Number.isInteger(minValidity) || minValidity < 0 || minValidity > 86_400) {
          out.error('usage: latchkey token <provider> [--min-validity SECONDS (0-86400)]')
          return EXIT.usage
        }
        return await tokenCommand(config, positionals[0] as string, minValidity, out)
      }
      case 'doctor':
        return await (await import('./doctor.js')).doctorCommand(config, env, out)
      case 'providers':
        return await withDb(config, (db) => providersCommand(config, db, out))
      case 'dexcom':
        return await withDb(config, (db) => dexcomCommand({ config, db, clock: systemClock }, rest, out))
      case 'status':
        return await withDb(config, (db) => statusCommand({ config, db, clock: systemClock }, out))
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
