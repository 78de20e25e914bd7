// A data integration that exists only in test/: it proves the seam (registry injected through
// deps, its table applied at start-up, its sync run by the shared job file in a Bree worker, its
// chat command in the menu) needs no change to src/ beyond the registry.
import { getConnectionStatus } from '../../src/db/connections.js'
import { defineIntegration } from '../../src/integrations/types.js'

/** Syncs "from" acme: each run records whether acme was connected at that moment. */
export const integration = defineIntegration({
  id: 'pulse',
  moduleUrl: import.meta.url,
  schema: 'CREATE TABLE IF NOT EXISTS pulse_runs (at INTEGER NOT NULL, acme_status TEXT);',
  providerIds: () => ['acme'],
  syncIntervalMs: () => 60 * 60_000, // an hour: any second run in a test came from an event
  sync: async (deps) => {
    deps.db.prepare('INSERT INTO pulse_runs (at, acme_status) VALUES (?, ?)').run(deps.clock.now(), getConnectionStatus(deps.db, 'acme') ?? null)
    deps.log.info('pulse sync done')
    return { ok: true }
  },
  chat: {
    commands: [{ command: 'pulse', description: 'How many pulse runs', help: '/pulse: how many times the pulse sync ran' }],
    load: async (deps) => {
      const { Composer } = await import('grammy')
      const composer = new Composer()
      composer.command('pulse', (ctx) => ctx.reply(`pulse ran ${deps.db.prepare('SELECT count(*) FROM pulse_runs').pluck().get()} times`))
      return composer
    },
  },
})
