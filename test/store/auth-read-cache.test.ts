// The parsed-auth.json cache behind getAccessToken: reused only while one stat says the file is
// the same version (and old enough to trust), re-read after any replace, including one by a
// writer in another process that replaces the file between two reads; and the connection
// statuses cached per version of the file, asked again when another process revokes a grant.
import { fork, spawn } from 'node:child_process'
import { mkdirSync, utimesSync, writeFileSync } from 'node:fs'
import { createInterface } from 'node:readline'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import t from 'tap'
import { TokenSource } from '../../src/oauth/refresh.js'
import { AuthFileReader, canReuse, RACY_MARGIN_MS, type FileVersion } from '../../src/store/auth-read-cache.js'
import { ensureConnection } from '../../src/db/connections.js'
import { tempDir, testConfig, testDeps } from '../support/deps.js'
import { startRotatingServer } from '../support/rotating-server.js'

const CHILD = fileURLToPath(new URL('../support/child-auth-steps.ts', import.meta.url))
const TOKEN_CHILD = fileURLToPath(new URL('../support/child-token.ts', import.meta.url))

t.test('canReuse: the same version, last changed before the margin', async (t) => {
  const readAt = 1_000_000
  const old = BigInt(readAt - RACY_MARGIN_MS - 1) * 1_000_000n
  const v: FileVersion = { dev: 1n, ino: 2n, size: 300n, mtimeNs: old }
  t.equal(canReuse(v, readAt, { ...v }), true, 'unchanged and old enough')
  t.equal(canReuse(v, readAt, { ...v, dev: 9n }), false, 'another device')
  t.equal(canReuse(v, readAt, { ...v, ino: 3n }), false, 'replaced (rename: new inode)')
  t.equal(canReuse(v, readAt, { ...v, size: 301n }), false, 'another size')
  t.equal(canReuse(v, readAt, { ...v, mtimeNs: old + 1n }), false, 'written again (mtime, in ns)')
  const recent = { ...v, mtimeNs: BigInt(readAt - RACY_MARGIN_MS + 1) * 1_000_000n }
  t.equal(canReuse(recent, readAt, { ...recent }), false, 'changed within the margin of the read: a second write could hide behind the same stat')
})

t.test('an unchanged old file is parsed once; a change of any kind is read again', async (t) => {
  const config = testConfig(t)
  mkdirSync(dirname(config.authFile), { recursive: true })
  writeFileSync(config.authFile, '{"a":{"type":"oauth","access":"one"}}')
  // A wall clock ahead of the file's mtime by more than the margin: the file counts as settled.
  const reader = new AuthFileReader(config.authFile, () => Date.now() + 10 * RACY_MARGIN_MS)
  const first = await reader.read()
  t.equal(await reader.read(), first, 'same object: no second read')
  writeFileSync(config.authFile, '{"a":{"type":"oauth","access":"two!"}}')
  t.same(await reader.read(), { a: { type: 'oauth', access: 'two!' } }, 'rewritten in place with another size')
  const recent = new AuthFileReader(config.authFile)
  const r1 = await recent.read()
  t.not(await recent.read(), r1, 'a file written within the margin is read on every call')
  t.same(await recent.read(), r1)
})

t.test('a missing file is empty, and a file that appears later is read', async (t) => {
  const config = testConfig(t)
  const reader = new AuthFileReader(config.authFile, () => Date.now() + 10 * RACY_MARGIN_MS)
  t.same(await reader.read(), {})
  mkdirSync(dirname(config.authFile), { recursive: true })
  writeFileSync(config.authFile, '{"a":1}')
  t.same(await reader.read(), { a: 1 })
})

t.test('getAccessToken never hands out a token another process has replaced', async (t) => {
  const deps = testDeps(t)
  const config = deps.config
  // A built-in provider: a fresh token is read without any client credentials.
  const source = new TokenSource(deps)
  const child = spawn(process.execPath, ['--import', 'tsx', CHILD, config.authFile], { stdio: ['pipe', 'pipe', 'inherit'] })
  t.teardown(() => child.kill())
  const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]()
  // Same-length tokens: every version has the same size, so only inode and mtime tell them apart.
  const version = (i: number) => ({
    github: { type: 'oauth', access: `access-${String(i).padStart(4, '0')}`, refresh: 'r', expires: deps.clock.now() + 3_600_000 },
    other: { type: 'api', key: 'kept' },
  })
  const wrong: string[] = []
  for (let i = 0; i < 150; i++) {
    child.stdin.write(`${JSON.stringify(version(i))}\n`)
    const said = (await lines.next()).value
    if (said !== `wrote ${i + 1}`) wrong.push(`the child said ${said} for write ${i}`)
    const token = await source.getAccessToken('github')
    if (token !== version(i).github.access) wrong.push(`after write ${i}: ${token}`)
    if (i % 10 === 0 && (await source.getAccessToken('github')) !== token) wrong.push(`second read after write ${i} differed`)
  }
  t.same(wrong, [], 'each read after a write returned that write’s token')
  child.stdin.end()
})

t.test('a grant another process finds revoked stops this process handing out its cached token', async (t) => {
  const dir = tempDir(t)
  const server = await startRotatingServer(t)
  const raw = {
    dataDir: join(dir, 'data'),
    authFile: join(dir, 'auth.json'),
    providers: { acme: { displayName: 'Acme', authorizationUrl: `${server.url}/authorize`, tokenUrl: server.tokenUrl, clientId: 'c', clientSecret: 's', scopes: ['x'] } },
  }
  const configFile = join(dir, 'config.json')
  writeFileSync(configFile, JSON.stringify(raw))
  const deps = testDeps(t, { config: testConfig(t, raw), now: Date.now() })
  ensureConnection(deps.db, 'acme', Date.now(), ['x'])
  // Valid for 30 s: fresh for this process (asking for 1 s), due for the child (asking for 60 s),
  // whose refresh the server refuses with invalid_grant (it never issued this refresh token).
  const access = 'access-still-unexpired'
  writeFileSync(raw.authFile, JSON.stringify({ acme: { type: 'oauth', access, refresh: 'never-issued', expires: Date.now() + 30_000 } }))
  const settled = new Date(Date.now() - 10 * RACY_MARGIN_MS)
  utimesSync(raw.authFile, settled, settled) // old enough for the cache to trust an unchanged stat
  const source = new TokenSource(deps)
  t.equal(await source.getAccessToken('acme', { minValidityMs: 1_000 }), access)
  t.equal(await source.getAccessToken('acme', { minValidityMs: 1_000 }), access, 'served from the cache')

  const child = fork(TOKEN_CHILD, [configFile, 'acme', '1'], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'pipe', 'pipe', 'ipc'] })
  let out = ''
  child.stdout?.on('data', (c: Buffer) => (out += c))
  await new Promise<void>((resolve) => child.once('message', () => resolve()))
  child.send('go')
  await new Promise((resolve) => child.once('exit', resolve))
  const result = JSON.parse(out) as { tokens: string[]; errors: string[] }
  t.match(result.errors, [/Acme needs reconnecting/], 'the child found the grant revoked')
  t.equal(server.requests.at(-1)?.outcome, 'revoked')

  await t.rejects(source.getAccessToken('acme', { minValidityMs: 1_000 }), { code: 'NEEDS_REAUTH' }, 'this process stops at once, without a refresh of its own')
  t.equal(server.requests.length, 1, 'one refresh request in all')
})
