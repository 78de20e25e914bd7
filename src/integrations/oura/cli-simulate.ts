// `latchkey simulate oura`: the Oura simulator on loopback until stopped, with the config snippet
// that points `providers.oura-sandbox` at it (like `simulate dexcom`).
import { DEFAULT_PORT, loadConfig } from '../../config.js'
import type { Output } from '../../cli/output.js'
import { OURA_SANDBOX_USERS, startOuraSimulator } from './simulator.js'

/** The sandbox app the simulator accepts unless told otherwise (a local fake, not an Oura credential). */
export const OURA_SIMULATOR_CLIENT = { clientId: 'latchkey-oura-sandbox', clientSecret: 'latchkey-oura-sandbox-secret' } as const

/** `latchkey simulate oura`'s options, parsed and range-checked by main.ts. */
export interface OuraSimulateFlags {
  port?: number
  host: string
  clientId?: string
  clientSecret?: string
  redirectUri?: string[]
}

/** Runs until `signal` aborts (tests) or SIGINT/SIGTERM. Needs no valid config. Exit 0, or 1 when it cannot listen. */
export async function ouraSimulateCommand(flags: OuraSimulateFlags, env: Record<string, string | undefined>, out: Output, opts: { signal?: AbortSignal } = {}): Promise<number> {
  const clientId = flags.clientId ?? env.LATCHKEY_SIM_CLIENT_ID ?? OURA_SIMULATOR_CLIENT.clientId
  const givenSecret = flags.clientSecret ?? env.LATCHKEY_SIM_CLIENT_SECRET
  const clientSecret = givenSecret ?? OURA_SIMULATOR_CLIENT.clientSecret
  const redirectUris = flags.redirectUri ?? (env.LATCHKEY_SIM_REDIRECT_URI ? [env.LATCHKEY_SIM_REDIRECT_URI] : [defaultRedirectUri(env)])
  let sim
  try {
    sim = await startOuraSimulator({ clientId, clientSecret, redirectUris, host: flags.host, port: flags.port ?? 0, onRequest: (r) => out.info(`${r.method} ${r.path} ${r.status}`) })
  } catch (err) {
    out.error(`cannot start the simulator: ${(err as Error).message}`)
    return 1
  }
  const snippet = {
    providers: {
      'oura-sandbox': {
        displayName: 'Oura Sandbox',
        authorizationUrl: sim.authorizationUrl,
        tokenUrl: sim.tokenUrl,
        apiBaseUrl: sim.url,
        clientId,
        // A secret the user chose stays off the terminal; the built-in default is a public fake.
        clientSecret: givenSecret === undefined ? clientSecret : '<the secret you passed>',
        rotation: 'single-use',
        usePkce: false,
      },
    },
  }
  out.info(`Oura simulator listening on ${sim.url} (loopback only)
Authorize: ${sim.authorizationUrl}
Token:     ${sim.tokenUrl}
API:       ${sim.url}/v2/usercollection/<type>
Sandbox users: ${Object.keys(OURA_SANDBOX_USERS).join(', ')} (no-heartrate-bo unticked heartrate). Redirect URI(s): ${redirectUris.join(', ')}

Point latchkey at it in your config file:
${JSON.stringify(snippet, null, 2)}

Then run "latchkey connect oura-sandbox". Ctrl-C stops the simulator.`)
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

function defaultRedirectUri(env: Record<string, string | undefined>): string {
  try {
    return loadConfig(env).redirectUri
  } catch {
    return `http://127.0.0.1:${DEFAULT_PORT}/oauth/callback`
  }
}
