// `latchkey agent add|list|remove` and `latchkey audit` through main(), on a real SQLite file.
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { insertAudit } from '../../src/broker/audit.js'
import { findAgentByToken } from '../../src/broker/agents.js'
import { main } from '../../src/cli/main.js'
import { openDb } from '../../src/db/open.js'
import { tempDir } from '../support/deps.js'

function capture() {
  const out: string[] = []
  const err: string[] = []
  return { out, err, output: { info: (s: string) => void out.push(s), error: (s: string) => void err.push(s) } }
}

t.test('agent add prints the token alone; list never shows it; remove revokes', async (t) => {
  const dir = tempDir(t)
  const configPath = join(dir, 'config.json')
  writeFileSync(configPath, JSON.stringify({ dataDir: join(dir, 'data') }))
  const env = { LATCHKEY_CONFIG: configPath, HOME: dir }
  const add = capture()
  t.equal(await main(['agent', 'add', 'claude', '--allow', 'dexcom:GET:/v3/users/self/', '--allow', 'oura'], env, add.output), 0)
  t.equal(add.out.length, 1)
  const token = add.out[0] as string
  t.match(token, /^lka_[A-Za-z0-9_-]{43}$/, 'stdout is the token alone')
  const db = openDb(join(dir, 'data', 'latchkey.db'))
  t.teardown(() => db.close())
  t.equal(findAgentByToken(db, token, Date.now())?.name, 'claude')

  const dup = capture()
  t.equal(await main(['agent', 'add', 'claude', '--allow', 'oura'], env, dup.output), 2)
  t.match(dup.err.join('\n'), /exists already/)
  const bad = capture()
  t.equal(await main(['agent', 'add', 'x', '--allow', 'dexcom:G E T'], env, bad.output), 2)
  t.match(bad.err.join('\n'), /METHODS must be a comma list/)
  t.equal(bad.out.length, 0, 'nothing on stdout when it fails')

  const list = capture()
  t.equal(await main(['agent', 'list', '--json'], env, list.output), 0)
  const agents = JSON.parse(list.out.join('\n')) as Record<string, unknown>[]
  t.same(Object.keys(agents[0] ?? {}), ['name', 'scopes', 'createdAt', 'lastUsedAt'])
  t.match(agents[0], { name: 'claude', scopes: ['dexcom:GET:/v3/users/self/', 'oura'], createdAt: /^\d{4}-/, lastUsedAt: /^\d{4}-/ })
  t.notOk(list.out.join('').includes(token))
  const plain = capture()
  await main(['agent', 'list'], env, plain.output)
  t.match(plain.out[0], /^claude {2}dexcom:GET:\/v3\/users\/self\/ oura {2}created /)

  t.equal(await main(['agent', 'remove', 'claude'], env, capture().output), 0)
  t.equal(findAgentByToken(db, token, Date.now()), undefined, 'revoked')
  const again = capture()
  t.equal(await main(['agent', 'remove', 'claude'], env, again.output), 1)
  t.match(again.err.join(''), /no agent named "claude"/)
  t.equal(await main(['agent', 'frobnicate'], env, capture().output), 2)
})

t.test('audit --since --json: the contract fields, no query string', async (t) => {
  const dir = tempDir(t)
  const configPath = join(dir, 'config.json')
  writeFileSync(configPath, JSON.stringify({ dataDir: join(dir, 'data') }))
  const env = { LATCHKEY_CONFIG: configPath, HOME: dir }
  const db = openDb(join(dir, 'data', 'latchkey.db'))
  t.teardown(() => db.close())
  const now = Date.now()
  insertAudit(db, { time: now - 2 * 86_400_000, agent: 'old', connection: 'dexcom', method: 'GET', path: '/v3/x', status: 200, durationMs: 5, bytes: 10 })
  insertAudit(db, { time: now - 60_000, agent: 'claude', connection: 'dexcom', method: 'GET', path: '/v3/users/self/egvs', status: 200, durationMs: 42, bytes: 1234 })
  const json = capture()
  t.equal(await main(['audit', '--json'], env, json.output), 0)
  const rows = JSON.parse(json.out.join('\n')) as Record<string, unknown>[]
  t.equal(rows.length, 1, 'default --since 24h')
  t.same(rows[0], { time: new Date(now - 60_000).toISOString(), agent: 'claude', connection: 'dexcom', method: 'GET', path: '/v3/users/self/egvs', status: 200, durationMs: 42, bytes: 1234 })
  const week = capture()
  await main(['audit', '--since', '7d', '--json'], env, week.output)
  t.equal((JSON.parse(week.out.join('\n')) as unknown[]).length, 2)
  const text = capture()
  await main(['audit'], env, text.output)
  t.match(text.out[0], /claude {2}dexcom {2}GET \/v3\/users\/self\/egvs {2}200 {2}42 ms {2}1234 B$/)
  const bad = capture()
  t.equal(await main(['audit', '--since', 'soon'], env, bad.output), 2)
})
