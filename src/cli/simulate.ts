import { parseArgs } from 'node:util'
import { DEFAULT_PORT, loadConfig } from '../config.js'
import { startDexcomSimulator } from '../dexcom/simulator/index.js'
import type { Output } from './output.js'

/** The sandbox app the simulator registers unless told otherwise (a local fake, not a Dexcom credential). */
export const SIMULATOR_CLIENT = { clientId: 'latchkey-sandbox', clientSecret: 'latchkey-sandbox-secret' } as const

const USAGE = `usage: latchkey simulate dexcom [options]

  --port N              listen on 127.0.0.1:N (default: a free port)
  --host H              a loopback address (default 127.0.0.1)
  --client-id ID        the app's client id ($LATCHKEY_SIM_CLIENT_ID, default ${SIMULATOR_CLIENT.clientId})
  --client-secret S     its secret ($LATCHKEY_SIM_CLIENT_SECRET, default ${SIMULATOR_CLIENT.clientSecret})
  --redirect-uri URI    a registered redirect URI, repeatable ($LATCHKEY_SIM_REDIRECT_URI;
                        default: the daemon's <publicUrl>/oauth/callback from the config)
  --delay-minutes M     data delay (default 60)
  --seed S              seed of the generated data (default latchkey)`

export interface SimulateOptions {
  /** Stops the simulator (tests); otherwise SIGINT or SIGTERM does. */
  signal?: AbortSignal
}

/**
 * `latchkey simulate dexcom`: runs the local Dexcom simulator on loopback until stopped and prints
 * the config snippet that points `providers.dexcom-sandbox` at it. Needs no valid config.
 */
export async function simulateCommand(args: string[], env: Record<string, string | undefined>, out: Output, opts: SimulateOptions = {}): Promise<number> {
  let parsed
  try {
    parsed = parseArgs({
      args,
      allowPositionals: true,
      strict: true,
      options: {
        port: { type: 'string' },
        host: { type: 'string' },
        'client-id': { type: 'string' },
        'client-secret': { type: 'string' },
        'redirect-uri': { type: 'string', multiple: true },
        'delay-minutes': { type: 'string' },
        seed: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    })
  } catch (err) {
    out.error(`${(err as Error).message}\n\n${USAGE}`)
    return 2
  }
  const { values, positionals } = parsed
  if (values.help) {
    out.info(USAGE)
    return 0
  }
  if (positionals.length !== 1 || positionals[0] !== 'dexcom') {
    out.error(USAGE)
    return 2
  }
  const port = values.port === undefined ? 0 : Number(values.port)
  const delay = values['delay-minutes'] === undefined ? 60 : Number(values['delay-minutes'])
  if (!Number.isInteger(port) || port < 0 || port > 65535 || !Number.isInteger(delay) || delay < 0 || delay > 24 * 60) {
    out.error(`--port must be 0-65535 and --delay-minutes 0-1440\n\n${USAGE}`)
    return 2
  }
  const clientId = values['client-id'] ?? env.LATCHKEY_SIM_CLIENT_ID ?? SIMULATOR_CLIENT.clientId
  const givenSecret = values['client-secret'] ?? env.LATCHKEY_SIM_CLIENT_SECRET
  const clientSecret = givenSecret ?? SIMULATOR_CLIENT.clientSecret
  const redirectUris = values['redirect-uri'] ?? (env.LATCHKEY_SIM_REDIRECT_URI ? [env.LATCHKEY_SIM_REDIRECT_URI] : [defaultRedirectUri(env)])
  for (const uri of redirectUris) {
    if (!URL.canParse(uri)) {
      out.error(`--redirect-uri: not a URL: ${JSON.stringify(uri)}`)
      return 2
    }
  }
  let sim
  try {
    sim = await startDexcomSimulator({
      host: values.host ?? '127.0.0.1',
      port,
      dataDelayMinutes: delay,
      seed: values.seed ?? 'latchkey',
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
