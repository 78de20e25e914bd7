// `latchkey simulate oura`: the Oura simulator on loopback until stopped, with the config snippet
// that points `providers.oura-sandbox` at it (like `simulate dexcom`).
import type { Output } from '../../cli/output.js'
import { runSimulator, type SimulateFlags } from '../simulate.js'
import { OURA_SANDBOX_USERS, startOuraSimulator } from './simulator.js'

/** The sandbox app the simulator accepts unless told otherwise (a local fake, not an Oura credential). */
export const OURA_SIMULATOR_CLIENT = { clientId: 'latchkey-oura-sandbox', clientSecret: 'latchkey-oura-sandbox-secret' } as const

/** Runs until `signal` aborts (tests) or SIGINT/SIGTERM. Needs no valid config. Exit 0, or 1 when it cannot listen. */
export function ouraSimulateCommand(flags: SimulateFlags, env: Record<string, string | undefined>, out: Output, opts: { signal?: AbortSignal } = {}): Promise<number> {
  return runSimulator(
    flags,
    env,
    out,
    OURA_SIMULATOR_CLIENT,
    ({ clientId, clientSecret, redirectUris }) =>
      startOuraSimulator({ clientId, clientSecret, redirectUris, host: flags.host, port: flags.port ?? 0, onRequest: (r) => out.info(`${r.method} ${r.path} ${r.status}`) }),
    (sim, app) => {
      const snippet = {
        providers: {
          'oura-sandbox': { displayName: 'Oura Sandbox', authorizationUrl: sim.authorizationUrl, tokenUrl: sim.tokenUrl, apiBaseUrl: sim.url, clientId: app.clientId, clientSecret: app.shownSecret, rotation: 'single-use', usePkce: false },
        },
      }
      return `Oura simulator listening on ${sim.url} (loopback only)
Authorize: ${sim.authorizationUrl}
Token:     ${sim.tokenUrl}
API:       ${sim.url}/v2/usercollection/<type>
Sandbox users: ${Object.keys(OURA_SANDBOX_USERS).join(', ')} (no-heartrate-bo unticked heartrate). Redirect URI(s): ${app.redirectUris.join(', ')}

Point latchkey at it in your config file:
${JSON.stringify(snippet, null, 2)}

Then run "latchkey connect oura-sandbox". Ctrl-C stops the simulator.`
    },
    opts,
  )
}
