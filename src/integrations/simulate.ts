// `latchkey simulate <id>` for every integration: the options all simulators share (added to the
// descriptor's subcommand, light: no runtime import) and the run itself (app resolved from flags,
// $LATCHKEY_SIM_* or the built-in fake, started on loopback, the config printed, until stopped).
import type { Command } from 'commander'
import type { Output } from '../cli/output.js'
import type { CliContext } from './types.js'

/** The options every `simulate <id>` takes, parsed and range-checked by main.ts. */
export interface SimulateFlags {
  port?: number
  host: string
  clientId?: string
  clientSecret?: string
  redirectUri?: string[]
}

/** The app a simulator accepts: what the user passed, else the built-in fake. */
export interface SimulatorApp {
  clientId: string
  clientSecret: string
  redirectUris: string[]
  /** The secret for the printed config: the built-in fake as is, a secret the user chose never. */
  shownSecret: string
}

/**
 * Adds `simulate <id>` with the shared options and returns it: the caller adds its own options
 * and the action (which imports the simulator only when it runs).
 */
export function addSimulateCommand(simulate: Command, ctx: CliContext, spec: { id: string; description: string; examples: string[] }): Command {
  return simulate
    .command(spec.id)
    .description(spec.description)
    .option('--port <n>', 'listen on 127.0.0.1:N (default: a free port)', ctx.intInRange('--port', 0, 65_535))
    .option('--host <address>', 'a loopback address', '127.0.0.1')
    .option('--client-id <id>', "the app's client id ($LATCHKEY_SIM_CLIENT_ID)")
    .option('--client-secret <secret>', 'its secret ($LATCHKEY_SIM_CLIENT_SECRET)')
    .option('--redirect-uri <uri>', "a registered redirect URI, repeatable ($LATCHKEY_SIM_REDIRECT_URI; default: the config's <publicUrl>/oauth/callback)", ctx.collectUrl)
    .addHelpText('after', ctx.after(undefined, ...spec.examples))
}

/**
 * Runs a simulator until `signal` aborts (tests) or SIGINT/SIGTERM: resolves the app, calls
 * `start`, prints what `describe` returns. Needs no valid config. Exit 0, or 1 when it cannot listen.
 */
export async function runSimulator<S extends { close(): Promise<void> }>(
  flags: SimulateFlags,
  env: Record<string, string | undefined>,
  out: Output,
  fake: { clientId: string; clientSecret: string },
  start: (app: SimulatorApp) => Promise<S>,
  describe: (sim: S, app: SimulatorApp) => string,
  opts: { signal?: AbortSignal } = {},
): Promise<number> {
  const givenSecret = flags.clientSecret ?? env.LATCHKEY_SIM_CLIENT_SECRET
  const app: SimulatorApp = {
    clientId: flags.clientId ?? env.LATCHKEY_SIM_CLIENT_ID ?? fake.clientId,
    clientSecret: givenSecret ?? fake.clientSecret,
    redirectUris: flags.redirectUri ?? (env.LATCHKEY_SIM_REDIRECT_URI ? [env.LATCHKEY_SIM_REDIRECT_URI] : [await defaultRedirectUri(env)]),
    shownSecret: givenSecret === undefined ? fake.clientSecret : '<the secret you passed>',
  }
  let sim: S
  try {
    sim = await start(app)
  } catch (err) {
    out.error(`cannot start the simulator: ${(err as Error).message}`)
    return 1
  }
  out.info(describe(sim, app))
  await new Promise<void>((resolve) => {
    if (opts.signal) {
      if (opts.signal.aborted) return resolve()
      opts.signal.addEventListener('abort', () => resolve(), { once: true })
      return
    }
    process.once('SIGINT', () => resolve())
    process.once('SIGTERM', () => resolve())
  })
  await sim.close()
  return 0
}

/** The config's redirect URI, or the default daemon's when there is no valid config. */
async function defaultRedirectUri(env: Record<string, string | undefined>): Promise<string> {
  const { DEFAULT_PORT, loadConfig } = await import('../config.js')
  try {
    return loadConfig(env).redirectUri
  } catch {
    return `http://127.0.0.1:${DEFAULT_PORT}/oauth/callback`
  }
}
