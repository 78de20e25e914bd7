import { DEFAULT_PORT, loadConfig } from '../../config.js'
import { startDexcomSimulator } from './simulator/index.js'
import type { Output } from '../../cli/output.js'

/** The sandbox app the simulator registers unless told otherwise (a local fake, not a Dexcom credential). */
export const SIMULATOR_CLIENT = { clientId: 'latchkey-sandbox', clientSecret: 'latchkey-sandbox-secret' } as const

/** `latchkey simulate dexcom`'s options, parsed and range-checked by main.ts. */
export interface SimulateFlags {
  port?: number
  host: string
  clientId?: string
  clientSecret?: string
  redirectUri?: string[]
  delayMinutes: number
  seed: string
}

export interface SimulateOptions {
  /** Stops the simulator (tests); otherwise SIGINT or SIGTERM does. */
  signal?: AbortSignal
}

/**
 * `latchkey simulate dexcom`: runs the local Dexcom simulator on loopback until stopped and prints
 * the config snippet that points `providers.dexcom-sandbox` at it. Needs no valid config.
 */
export async function simulateCommand(flags: SimulateFlags, env: Record<string, string | undefined>, out: Output, opts: SimulateOptions = {}): Promise<number> {
  const clientId = flags.clientId ?? env.LATCHKEY_SIM_CLIENT_ID ?? SIMULATOR_CLIENT.clientId
  const givenSecret = flags.clientSecret ?? env.LATCHKEY_SIM_CLIENT_SECRET
  const clientSecret = givenSecret ?? SIMULATOR_CLIENT.clientSecret
  const redirectUris = flags.redirectUri ?? (env.LATCHKEY_SIM_REDIRECT_URI ? [env.LATCHKEY_SIM_REDIRECT_URI] : [defaultRedirectUri(env)])
  let sim
  try {
    sim = await startDexcomSimulator({
      host: flags.host,
      port: flags.port ?? 0,
      dataDelayMinutes: flags.delayMinutes,
      seed: flags.seed,
      clients: [{ clientId, clientSecret, redirectUris }],
      onRequest: (r) => out.info(`${r.method} ${r.path} ${r.status === 0 ? 'dropped' : r.status}${r.grantType ? ` (${r.grantType})` : ''}`),
    })
  } catch (err) {
    out.error(`cannot start the simulator: ${(err as Error).message}`)
    return 1
  }
  const snippet = {
    providers: {
      'dexcom-sandbox': {
        authorizationUrl: sim.authorizationUrl,
        tokenUrl: sim.tokenUrl,
        apiBaseUrl: sim.url,
        clientId,
        // A secret the user chose stays off the terminal; the built-in default is a public fake.
        clientSecret: givenSecret === undefined ? clientSecret : '<the secret you passed>',
      },
    },
    // The sync and /glucose read this provider's connection (the default is the real "dexcom").
    dexcom: { provider: 'dexcom-sandbox' },
  }
  out.info(`Dexcom simulator listening on ${sim.url} (loopback only)
Simulated users SandboxUser1-7, no password. Redirect URI(s): ${redirectUris.join(', ')}

Point latchkey at it in your config file:
${JSON.stringify(snippet, null, 2)}

Then run "latchkey connect dexcom-sandbox". Ctrl-C stops the simulator.`)
  await new Promise<void>((resolve) => {
    const stop = () => resolve()
    if (opts.signal) {
      if (opts.signal.aborted) return resolve()
      opts.signal.addEventListener('abort', stop, { once: true })
      return
    }
    process.once('SIGINT', stop)
    process.once('SIGTERM', stop)
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
