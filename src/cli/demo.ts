import { mkdtempSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { DEFAULT_PORT, parseConfig } from '../config.js'
import { startDaemon } from '../daemon.js'
import { getFlowByState, isFlowEnded } from '../db/oauth-flows.js'
import { glucoseReport } from '../integrations/dexcom/report.js'
import { readReadings } from '../integrations/dexcom/store.js'
import { startDexcomSimulator } from '../integrations/dexcom/simulator/index.js'
import { pullGlucose } from '../integrations/dexcom/sync.js'
import { createLogger } from '../log.js'
import { startFlow } from '../oauth/flow.js'
import { resolveTimeZone } from '../time-format.js'
import { readingsTable } from '../integrations/dexcom/cli-readings.js'
import type { Output } from './output.js'

/** A local fake app registered with the simulator only; not a Dexcom credential. */
const DEMO_CLIENT = { clientId: 'latchkey-demo', clientSecret: 'latchkey-demo-secret' }
const PROVIDER = 'dexcom-sandbox'

async function portFree(port: number): Promise<boolean> {
  const server = createServer()
  return new Promise((resolve) => {
    server.once('error', () => resolve(false))
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)))
  })
}

async function anyFreePort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  await new Promise<void>((resolve) => server.close(() => resolve()))
  return port
}

/**
 * `latchkey demo` (`npm run demo`): the whole product on loopback with no account and no
 * network. Starts the Dexcom simulator and the daemon with a generated config in a temp
 * directory, prints the link to open, and once the sandbox login is done, syncs and prints the
 * latest readings. Runs until Ctrl+C (or `signal`).
 */
export async function demoCommand(env: Record<string, string | undefined>, out: Output, opts: { signal?: AbortSignal } = {}): Promise<number> {
  const dir = env.LATCHKEY_DEMO_DIR ?? mkdtempSync(join(tmpdir(), 'latchkey-demo-'))
  const port = (await portFree(DEFAULT_PORT)) ? DEFAULT_PORT : await anyFreePort()
  const publicUrl = `http://127.0.0.1:${port}`
  const sim = await startDexcomSimulator({ clients: [{ ...DEMO_CLIENT, redirectUris: [`${publicUrl}/oauth/callback`] }] })
  const raw = {
    listen: { host: '127.0.0.1', port },
    dataDir: join(dir, 'data'),
    authFile: join(dir, 'auth.json'),
    logLevel: 'warn',
    providers: { [PROVIDER]: { authorizationUrl: sim.authorizationUrl, tokenUrl: sim.tokenUrl, apiBaseUrl: sim.url, ...DEMO_CLIENT } },
    dexcom: { provider: PROVIDER },
  }
  const configPath = join(dir, 'config.json')
  writeFileSync(configPath, `${JSON.stringify(raw, null, 2)}\n`, { mode: 0o600 })
  // Only HOME from the user's environment: a TELEGRAM_BOT_TOKEN or provider credentials set for
  // their real daemon must not change the demo.
  const config = parseConfig(raw, { ...(env.HOME ? { HOME: env.HOME } : {}) }, configPath)
  const daemon = await startDaemon(config, { log: createLogger('warn') })
  const stop = async () => {
    await daemon.close()
    await sim.close()
  }
  try {
    const flow = startFlow(daemon.deps, { provider: PROVIDER })
    out.info(
      `latchkey demo: the daemon is on ${publicUrl}, the Dexcom simulator on ${sim.url}\n` +
        `config: ${configPath}\n\n` +
        `Open this link in a browser on this machine, pick a sandbox user and approve:\n\n  ${flow.startUrl}\n\nWaiting for you to approve… (expires in 10 min; Ctrl+C to stop)`,
    )
    const status = await new Promise<string>((resolve) => {
      const check = () => {
        const current = getFlowByState(daemon.deps.db, flow.state)?.status ?? 'failed'
        if (!isFlowEnded(current) && !opts.signal?.aborted) return
        daemon.deps.events.off('flow-changed', check)
        clearInterval(timer)
        resolve(opts.signal?.aborted ? 'stopped' : current)
      }
      const timer = setInterval(check, 1_000)
      daemon.deps.events.on('flow-changed', check)
      opts.signal?.addEventListener('abort', check)
    })
    if (status !== 'connected') {
      out.error(status === 'stopped' ? 'stopped before the link was approved' : `the connection ended as ${status}`)
      return 1
    }
    out.info('✅ Dexcom Sandbox connected; fetching readings (the first sync backfills up to 90 days)…')
    const summary = await pullGlucose(daemon.deps)
    if (summary.status !== 'synced') {
      out.error(`the sync did not complete: ${summary.error ?? summary.status}`)
      return 1
    }
    // The daemon's own dexcom-sync job may have backfilled first: count what is stored, not what this run added.
    const stored = readReadings(daemon.deps.db, PROVIDER, 0).length
    out.info(`synced ${stored} readings; the latest:`)
    const recent = readReadings(daemon.deps.db, PROVIDER, daemon.deps.clock.now() - 2 * 60 * 60_000)
    // The same table `latchkey dexcom readings` prints, in the same time zone.
    out.info(readingsTable(recent.slice(-6), config.dexcom.units, resolveTimeZone(env)).map((l) => `  ${l}`).join('\n'))
    out.info(`\n${glucoseReport(daemon.deps).text}\n\nThe daemon keeps syncing every 5 minutes. Try: latchkey dexcom readings --since 24h (LATCHKEY_CONFIG=${configPath}). Ctrl+C to stop.`)
    await new Promise<void>((resolve) => {
      if (opts.signal) opts.signal.addEventListener('abort', () => resolve(), { once: true })
      process.once('SIGINT', () => resolve())
      process.once('SIGTERM', () => resolve())
    })
    return 0
  } finally {
    await stop()
  }
}
