// Oura on the integration seam: daily sleep, sleep periods, readiness, activity and heart rate,
// polled (webhooks need a public callback, which a tailnet-only daemon does not have).
import type { Config } from '../../config.js'
import { addSimulateCommand } from '../simulate.js'
import { defineIntegration } from '../types.js'
import { ouraFreshness } from './freshness.js'
import { OURA_SCHEMA } from './schema.js'

/** Poll every 30 minutes: sleep lands whenever the user opens the app in the morning. */
export const OURA_SYNC_INTERVAL_MS = 30 * 60_000
/** The provider entries Oura data is synced from, when the config has them. */
const OURA_PROVIDERS = ['oura', 'oura-sandbox']
const configured = (config: Config) => OURA_PROVIDERS.filter((id) => Object.hasOwn(config.providers, id))

/** The Oura integration's descriptor. */
export const integration = defineIntegration({
  id: 'oura',
  moduleUrl: import.meta.url,
  schema: OURA_SCHEMA,
  providerIds: configured,
  syncIntervalMs: () => OURA_SYNC_INTERVAL_MS,
  sync: async (deps) => {
    const { pullOura } = await import('./sync.js')
    const results = []
    for (const id of configured(deps.config)) results.push(await pullOura(deps, id))
    return results
  },
  freshness: (deps, now, timeZone) => ouraFreshness(deps, configured(deps.config), now, timeZone),
  chat: {
    commands: [
      { command: 'sleep', description: "Last night's Oura sleep and the last 7 nights", help: "/sleep: last night's Oura sleep score, total sleep, efficiency, stages, lowest heart rate and a 7-night chart" },
      { command: 'readiness', description: "Today's Oura readiness and its contributors", help: "/readiness: today's Oura readiness score and its contributors" },
    ],
    load: async (deps) => (await import('./chat.js')).ouraComposer(deps, configured(deps.config)),
  },
  cli(program, ctx) {
    program
      .command('oura')
      .description('Oura data: "oura daily" prints one line per day from the stored data')
      .command('daily')
      .description('per day: sleep, readiness and activity scores, total sleep and steps (no network)')
      .option('--since <when>', 'how far back: 7d, 2w or an ISO 8601 time', ctx.sinceArg, '7d')
      .option('--csv', 'print CSV with a header')
      .option('--json', 'print a JSON array')
      .option('--provider <id>', 'which Oura provider entry (default: the first of oura, oura-sandbox with data)')
      .addHelpText('after', ctx.after('null (or an empty CSV field) where Oura has no value; a day without the ring is absent.', 'latchkey oura daily', 'latchkey oura daily --since 30d --csv > month.csv', 'latchkey oura daily --json | jq .'))
      .action(async (opts: { since: string; csv?: boolean; json?: boolean; provider?: string }) => {
        const config = await ctx.loadConfig()
        const [{ ouraDailyCommand }, { systemClock }] = await Promise.all([import('./cli-daily.js'), import('../../clock.js')])
        ctx.done(await ctx.withDb(config, (db) => ouraDailyCommand({ db, clock: systemClock }, OURA_PROVIDERS, opts, ctx.out)))
      })
  },
  demo: async () => (await import('./demo.js')).demo,
  simulate(simulate, ctx) {
    addSimulateCommand(simulate, ctx, {
      id: 'oura',
      description: 'run the Oura simulator on loopback and print its URLs and the config that points oura-sandbox at it',
      examples: ['latchkey simulate oura --port 9100', 'latchkey simulate oura --redirect-uri http://127.0.0.1:8400/oauth/callback'],
    }).action(async (opts: import('../simulate.js').SimulateFlags) => ctx.done(await (await import('./cli-simulate.js')).ouraSimulateCommand(opts, ctx.env, ctx.out)))
  },
})
