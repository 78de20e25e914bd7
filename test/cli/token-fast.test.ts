// The lean path of `latchkey token`: it answers only when the config file and auth.json alone
// show a fresh token (and the connection is not marked needs_reauth), hands every other case to
// the full CLI, and loads none of the CLI's libraries when it answers.
import { execFile } from 'node:child_process'
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import t from 'tap'
import { freshTokenFast } from '../../src/cli/token-fast.js'
import { markNeedsReauth, ensureConnection } from '../../src/db/connections.js'
import { openDb } from '../../src/db/open.js'
import { BIN } from '../support/child-daemon.js'
import { tempDir, type Teardown } from '../support/deps.js'

const NOW = Date.UTC(2026, 10, 25, 12)
const HOUR = 3_600_000
const MODULE_LOG = fileURLToPath(new URL('../support/module-log.mjs', import.meta.url))

function world(t: Teardown, auth: unknown = { acme: { type: 'oauth', access: 'at-acme', refresh: 'rt', expires: NOW + HOUR }, github: { type: 'oauth', access: 'at-gh' } }) {
  const dir = tempDir(t)
  const configPath = join(dir, 'config.json')
  const authFile = join(dir, 'agent', 'auth.json')
  const dataDir = join(dir, 'data')
  writeFileSync(
    configPath,
    JSON.stringify({
      dataDir,
      authFile,
      providers: { acme: { displayName: 'Acme', authorizationUrl: 'http://127.0.0.1:9/a', tokenUrl: 'http://127.0.0.1:9/t', clientId: 'c', scopes: [] } },
    }),
  )
  mkdirSync(join(dir, 'agent'))
  writeFileSync(authFile, typeof auth === 'string' ? auth : JSON.stringify(auth))
  return { dir, configPath, authFile, dataDir, env: { LATCHKEY_CONFIG: configPath, HOME: dir } }
}

t.test('answers a fresh token of a configured or built-in provider', async (t) => {
  const w = world(t)
  t.equal(await freshTokenFast(['token', 'acme'], w.env, NOW), 'at-acme')
  t.equal(await freshTokenFast(['token', 'acme', '--min-validity', '3000'], w.env, NOW), 'at-acme')
  t.equal(await freshTokenFast(['token', 'acme', '--min-validity=0'], w.env, NOW), 'at-acme')
  t.equal(await freshTokenFast(['token', 'github'], w.env, NOW), 'at-gh', 'built-in, no expiry: used until rejected')
})

t.test('leaves every other case to the full command', async (t) => {
  const w = world(t)
  t.equal(await freshTokenFast(['token', 'acme', '--min-validity', '3600'], w.env, NOW), undefined, 'expires within --min-validity: a refresh')
  t.equal(await freshTokenFast(['token', 'acme'], w.env, NOW + HOUR), undefined, 'expired')
  t.equal(await freshTokenFast(['token', 'nope'], w.env, NOW), undefined, 'unknown (or discovered) provider: the full command knows')
  t.equal(await freshTokenFast(['token', 'oura'], w.env, NOW), undefined, 'not connected: the full command says so')
  for (const argv of [['token'], ['token', '--help'], ['token', 'acme', '--help'], ['token', 'acme', '--min-validity', 'x'], ['token', 'acme', '--min-validity', '86401'], ['token', 'acme', 'extra'], ['status', 'acme']])
    t.equal(await freshTokenFast(argv, w.env, NOW), undefined, argv.join(' '))
  t.equal(await freshTokenFast(['token', 'acme'], { ...w.env, LATCHKEY_CONFIG: join(w.dir, 'missing.json') }, NOW), undefined, 'a named config that is missing')
  writeFileSync(w.configPath, '{"dataDir": 5}')
  t.equal(await freshTokenFast(['token', 'acme'], w.env, NOW), undefined, 'a config the full command must explain')
  writeFileSync(w.configPath, '{oops')
  t.equal(await freshTokenFast(['token', 'acme'], w.env, NOW), undefined, 'not JSON')
  const corrupt = world(t, '{"acme": ')
  t.equal(await freshTokenFast(['token', 'acme'], corrupt.env, NOW), undefined, 'a corrupt auth.json (the full command keeps a copy and explains)')
  const other = world(t, { acme: { type: 'api', key: 'k' } })
  t.equal(await freshTokenFast(['token', 'acme'], other.env, NOW), undefined, 'not an oauth entry')
})

t.test('a connection marked needs_reauth is never answered; an ok one is', async (t) => {
  const w = world(t)
  const db = openDb(join(w.dataDir, 'latchkey.db'))
  t.teardown(() => db.close())
  ensureConnection(db, 'acme', NOW, [])
  t.equal(await freshTokenFast(['token', 'acme'], w.env, NOW), 'at-acme', 'status ok')
  markNeedsReauth(db, 'acme', NOW, 'invalid_grant')
  t.equal(await freshTokenFast(['token', 'acme'], w.env, NOW), undefined, 'needs_reauth: the full command exits 6')
})

t.test('as a process: a fresh token loads no CLI library; a refresh goes through the full CLI', async (t) => {
  const w = world(t, { acme: { type: 'oauth', access: 'at-acme', refresh: 'rt', expires: Date.now() + HOUR } })
  const run = async (...args: string[]) => {
    const log = join(w.dir, `modules-${args.join('-')}.log`)
    writeFileSync(log, '')
    const { stdout } = await promisify(execFile)(process.execPath, ['--import', MODULE_LOG, BIN, 'token', ...args], {
      env: { ...process.env, ...w.env, MODULE_LOG: log },
    }).catch((err: { stdout: string }) => err)
    return { stdout, modules: readFileSync(log, 'utf8') }
  }
  const lean = await run('acme')
  t.equal(lean.stdout, 'at-acme\n')
  t.match(lean.modules, /token-fast\.js/, 'the lean path ran')
  for (const lib of ['commander', 'zod', 'got', 'fastify', 'grammy', 'pino', 'bree'])
    t.notMatch(lean.modules, new RegExp(`node_modules/${lib}/`), `${lib} not loaded`)
  const full = await run('acme', '--min-validity', '86400')
  t.match(full.modules, /node_modules\/commander\//, 'a refresh: the full CLI')
})
