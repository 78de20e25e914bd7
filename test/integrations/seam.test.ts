// The integration seam: a contract over the registry plus an integration defined only in test/
// (test/support/pulse-integration.ts) plugged into the real daemon and bot through deps.
import t from 'tap'
import { openDb } from '../../src/db/open.js'
import { INTEGRATIONS } from '../../src/integrations/index.js'
import { buttons } from '../support/bot-api-server.js'
import { CookieBrowser } from '../support/cookie-browser.js'
import { tempDir, testConfig } from '../support/deps.js'
import { integration as pulse } from '../support/pulse-integration.js'
import { botWorld, editOf, linkMessageIdOf, say, until } from '../bot/harness.js'

const tablesOf = (db: ReturnType<typeof openDb>): Set<string> =>
  new Set(db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").pluck().all() as string[])

t.test('contract: unique ids, schemas apply twice, no shared tables, provider ids in the catalog', async (t) => {
  const all = [...INTEGRATIONS, pulse]
  t.equal(new Set(all.map((i) => i.id)).size, all.length, 'ids are unique')
  const config = testConfig(t)
  for (const i of INTEGRATIONS) for (const p of i.providerIds(config)) t.ok(Object.hasOwn(config.providers, p), `${i.id}: provider ${p} is in the catalog`)
  const dir = tempDir(t)
  const core = tablesOf(openDb(':memory:', []))
  const owned = new Map<string, string>()
  for (const i of all) {
    const db = openDb(':memory:', [i])
    const mine = [...tablesOf(db)].filter((n) => !core.has(n))
    db.close()
    t.ok(mine.length > 0, `${i.id} declares its own tables`)
    for (const table of mine) {
      t.notOk(owned.has(table), `${table} belongs to ${i.id} only`)
      owned.set(table, i.id)
    }
  }
  openDb(`${dir}/twice.db`, all).close()
  const again = openDb(`${dir}/twice.db`, all)
  t.ok(tablesOf(again).has('pulse_runs'), 'every schema applied twice on the same file without error')
  again.close()
})

t.test('an integration from test/: no run while its provider is not connected, first sync at once on connect (in a worker), its chat command', async (t) => {
  const w = await botWorld(t, { acme: { clientId: 'chat-client', clientSecret: 'canary-client-secret-0123456789abcdeXY12' }, integrations: [...INTEGRATIONS, pulse] })
  const menu = w.tg.requests.find((r) => r.method === 'setMyCommands')
  t.same(
    (menu?.payload.commands as { command: string }[]).map((c) => c.command).slice(-4),
    ['readiness', 'pulse', 'cancel', 'help'],
    'the menu carries each integration command before cancel and help',
  )
  const runs = () => w.daemon.deps.db.prepare('SELECT acme_status FROM pulse_runs ORDER BY rowid').pluck().all() as (string | null)[]

  const help = await say(w, '/help', /\/pulse: how many times the pulse sync ran/)
  t.match(help.payload.text, /\/glucose: /, 'Dexcom still has its /help line')

  const r = await say(w, 'connect acme', /waiting for you to approve/)
  await new CookieBrowser().get(String(buttons(r.payload)[0]?.url))
  await editOf(w, linkMessageIdOf(w, r), /^✅/)
  await until(() => runs().includes('ok') || undefined, 60_000)
  // No run before: with acme not connected the sync was not due at start-up (no worker started).
  t.same(runs(), ['ok'], 'connecting acme ran the sync at once (its interval is an hour), in a Bree worker; none ran before')

  await say(w, '/pulse', /^pulse ran 1 times$/)
})
