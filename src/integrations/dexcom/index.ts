// Dexcom on the integration seam: glucose readings and events from one Dexcom provider entry.
// Light on purpose (openDb, every job worker and the CLI load the registry): no runtime import
// beyond its SQL; handlers, the client and commander's classes come through what is passed in.
import { addSimulateCommand } from '../simulate.js'
import { defineIntegration } from '../types.js'
import { dexcomFreshness } from './freshness.js'
import { DEXCOM_SCHEMA } from './schema.js'

/** The Dexcom integration's descriptor. */
export const integration = defineIntegration({
  id: 'dexcom',
  moduleUrl: import.meta.url,
  schema: DEXCOM_SCHEMA,
  providerIds: (config) => [config.dexcom.provider],
  syncIntervalMs: (config) => config.dexcom.syncIntervalMs,
  sync: async (deps) => (await import('./sync.js')).pullGlucose(deps),
  freshness: (deps, now) => dexcomFreshness(deps, now),
  chat: {
    commands: [
      { command: 'glucose', description: 'Latest Dexcom glucose and the last 24 h', help: '/glucose: the latest Dexcom reading, time in range and a 24 h chart' },
    ],
    load: async (deps) => (await import('./chat.js')).glucoseComposer(deps),
  },
  cli(program, ctx) {
    const dexcom = program.command('dexcom').description('Dexcom data: "dexcom readings" prints the stored glucose readings')
    dexcom
      .command('readings')
      .description('print stored glucose readings (no network), times in the local time zone')
      .option('--since <when>', 'how far back: 30m, 24h, 7d, 2w or an ISO 8601 time', ctx.sinceArg, '24h')
      .addOption(dexcom.createOption('--csv', 'print CSV (times in UTC)').conflicts('json'))
      .option('--json', 'print a JSON array (times in UTC)')
      .option('--provider <id>', 'which Dexcom provider entry (default: dexcom.provider from the config)')
      .addHelpText('after', ctx.after('The table uses $TZ (or the system time zone) and names it.', 'latchkey dexcom readings', 'latchkey dexcom readings --since 7d --csv > week.csv', 'TZ=Europe/Berlin latchkey dexcom readings --since 2026-01-31T08:00Z'))
      .action(async (opts: { since: string; csv?: boolean; json?: boolean; provider?: string }) => {
        const config = await ctx.loadConfig()
        const [{ dexcomReadingsCommand }, { systemClock }, { resolveTimeZone }] = await Promise.all([import('./cli-readings.js'), import('../../clock.js'), import('../../time-format.js')])
        ctx.done(await ctx.withDb(config, (db) => dexcomReadingsCommand({ config, db, clock: systemClock, timeZone: resolveTimeZone(ctx.env) }, opts, ctx.out)))
      })
  },
  demo: async () => (await import('./demo.js')).demo,
  simulate(simulate, ctx) {
    addSimulateCommand(simulate, ctx, {
      id: 'dexcom',
      description: 'run the Dexcom simulator on loopback and print the config that points dexcom-sandbox at it',
      examples: ['latchkey simulate dexcom --port 9000', 'latchkey simulate dexcom --redirect-uri http://127.0.0.1:8400/oauth/callback'],
    })
      .option('--delay-minutes <m>', 'data delay in minutes (0-1440)', ctx.intInRange('--delay-minutes', 0, 1440), 60)
      .option('--seed <s>', 'seed of the generated data', 'latchkey')
      .action(async (opts: import('./cli-simulate.js').SimulateFlags) => ctx.done(await (await import('./cli-simulate.js')).simulateCommand(opts, ctx.env, ctx.out)))
  },
})
