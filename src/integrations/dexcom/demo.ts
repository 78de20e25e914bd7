// Dexcom's part of `latchkey demo`: the simulator with a demo app, dexcom-sandbox pointed at it,
// and after the connect one sync and the latest readings (the table `dexcom readings` prints).
import type { DemoPart } from '../types.js'
import { readingsTable } from './cli-readings.js'
import { glucoseReport } from './report.js'
import { startDexcomSimulator } from './simulator/index.js'
import { readReadings } from './store.js'
import { pullGlucose } from './sync.js'
import { resolveTimeZone } from '../../time-format.js'

/** A local fake app registered with the simulator only; not a Dexcom credential. */
const DEMO_CLIENT = { clientId: 'latchkey-demo', clientSecret: 'latchkey-demo-secret' }
const PROVIDER = 'dexcom-sandbox'

export const demo: DemoPart = {
  provider: PROVIDER,
  name: 'Dexcom',
  pick: 'pick a sandbox user and approve',
  tryNext: 'latchkey dexcom readings --since 24h',
  async start(redirectUri) {
    const sim = await startDexcomSimulator({ clients: [{ ...DEMO_CLIENT, redirectUris: [redirectUri] }] })
    return {
      config: { providers: { [PROVIDER]: { authorizationUrl: sim.authorizationUrl, tokenUrl: sim.tokenUrl, apiBaseUrl: sim.url, ...DEMO_CLIENT } }, dexcom: { provider: PROVIDER } },
      url: sim.url,
      close: () => sim.close(),
    }
  },
  async show(deps, out, env) {
    out.info('✅ Dexcom Sandbox connected; fetching readings (the first sync backfills up to 90 days)…')
    const summary = await pullGlucose(deps)
    if (summary.status !== 'synced') {
      out.error(`the Dexcom sync did not complete: ${summary.error ?? summary.status}`)
      return false
    }
    // The daemon's own dexcom-sync job may have backfilled first: count what is stored, not what this run added.
    out.info(`synced ${readReadings(deps.db, PROVIDER, 0).length} readings; the latest:`)
    const recent = readReadings(deps.db, PROVIDER, deps.clock.now() - 2 * 60 * 60_000)
    // The same table `latchkey dexcom readings` prints, in the same time zone.
    out.info(readingsTable(recent.slice(-6), deps.config.dexcom.units, resolveTimeZone(env)).map((l) => `  ${l}`).join('\n'))
    out.info(`\n${glucoseReport(deps).text}`)
    return true
  },
}
