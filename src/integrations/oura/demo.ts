// Oura's part of `latchkey demo`: the simulator (its consent page lists the sandbox users),
// oura-sandbox pointed at it, and after the connect one sync, the last 7 days (the table
// `oura daily` prints) and what /sleep says.
import type { DemoPart } from '../types.js'
import { dailyTable } from './cli-daily.js'
import { sleepAnswer } from './report.js'
import { startOuraSimulator } from './simulator.js'
import { readDaily } from './store.js'
import { pullOura } from './sync.js'

/** A local fake app registered with the simulator only; not an Oura credential. */
const DEMO_CLIENT = { clientId: 'latchkey-demo', clientSecret: 'latchkey-demo-secret' }
const PROVIDER = 'oura-sandbox'

export const demo: DemoPart = {
  provider: PROVIDER,
  name: 'Oura',
  pick: 'pick a sandbox user (sleeper-ada grants every scope)',
  tryNext: 'latchkey oura daily --since 7d',
  async start(redirectUri) {
    const sim = await startOuraSimulator({ ...DEMO_CLIENT, redirectUris: [redirectUri] })
    return {
      config: { providers: { [PROVIDER]: { displayName: 'Oura Sandbox', authorizationUrl: sim.authorizationUrl, tokenUrl: sim.tokenUrl, apiBaseUrl: sim.url, ...DEMO_CLIENT, rotation: 'single-use', usePkce: false } } },
      url: sim.url,
      close: () => sim.close(),
    }
  },
  async show(deps, out) {
    out.info('✅ Oura Sandbox connected; fetching sleep, readiness, activity and heart rate (the first sync backfills 90 days)…')
    const summary = await pullOura(deps, PROVIDER)
    if (summary.status !== 'synced') {
      out.error(`the Oura sync did not complete: ${summary.error ?? summary.status}`)
      return false
    }
    const since = new Date(deps.clock.now() - 6 * 86_400_000).toISOString().slice(0, 10)
    const skipped = summary.skipped.length ? ` (not granted, skipped: ${summary.skipped.join(', ')})` : ''
    out.info(`synced Oura${skipped}; the last 7 days:`)
    out.info(dailyTable(readDaily(deps.db, PROVIDER, since)).map((l) => `  ${l}`).join('\n'))
    out.info(`\n${sleepAnswer(deps, [PROVIDER]).text}`)
    return true
  },
}
