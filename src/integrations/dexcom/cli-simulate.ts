// `latchkey simulate dexcom`: the Dexcom simulator on loopback until stopped, with the config
// snippet that points `providers.dexcom-sandbox` (and `dexcom.provider`) at it.
import type { Output } from '../../cli/output.js'
import { runSimulator, type SimulateFlags as CommonFlags } from '../simulate.js'
import { startDexcomSimulator } from './simulator/index.js'

/** The sandbox app the simulator registers unless told otherwise (a local fake, not a Dexcom credential). */
export const SIMULATOR_CLIENT = { clientId: 'latchkey-sandbox', clientSecret: 'latchkey-sandbox-secret' } as const

/** `latchkey simulate dexcom`'s options: the shared ones, the data delay and the seed. */
export interface SimulateFlags extends CommonFlags {
  delayMinutes: number
  seed: string
}

/** Runs until `signal` aborts (tests) or SIGINT/SIGTERM. Needs no valid config. Exit 0, or 1 when it cannot listen. */
export function simulateCommand(flags: SimulateFlags, env: Record<string, string | undefined>, out: Output, opts: { signal?: AbortSignal } = {}): Promise<number> {
  return runSimulator(
    flags,
    env,
    out,
    SIMULATOR_CLIENT,
    ({ clientId, clientSecret, redirectUris }) =>
      startDexcomSimulator({
        host: flags.host,
        port: flags.port ?? 0,
        dataDelayMinutes: flags.delayMinutes,
        seed: flags.seed,
        clients: [{ clientId, clientSecret, redirectUris }],
        onRequest: (r) => out.info(`${r.method} ${r.path} ${r.status === 0 ? 'dropped' : r.status}${r.grantType ? ` (${r.grantType})` : ''}`),
      }),
    (sim, app) => {
      const snippet = {
        providers: { 'dexcom-sandbox': { authorizationUrl: sim.authorizationUrl, tokenUrl: sim.tokenUrl, apiBaseUrl: sim.url, clientId: app.clientId, clientSecret: app.shownSecret } },
        // The sync and /glucose read this provider's connection (the default is the real "dexcom").
        dexcom: { provider: 'dexcom-sandbox' },
      }
      return `Dexcom simulator listening on ${sim.url} (loopback only)
Simulated users SandboxUser1-7, no password. Redirect URI(s): ${app.redirectUris.join(', ')}

Point latchkey at it in your config file:
${JSON.stringify(snippet, null, 2)}

Then run "latchkey connect dexcom-sandbox". Ctrl-C stops the simulator.`
    },
    opts,
  )
}
