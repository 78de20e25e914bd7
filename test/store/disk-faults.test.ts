// Issue 9 items 2 and 3: a full or read-only disk never costs a rotated refresh token, and every
// filesystem failure is AUTH_FILE_UNWRITABLE naming the file. auth.json lives on a small tmpfs
// the test mounts; the token endpoint is a strict rotating server that revokes on reuse.
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import t, { type Test } from 'tap'
import { isAppError } from '../../src/errors.js'
import { TokenSource } from '../../src/oauth/refresh.js'
import { readAuthFile } from '../../src/store/auth-json.js'
import { readJournal } from '../../src/store/auth-journal.js'
import { tempDir, testConfig, testDeps, type TestDeps } from '../support/deps.js'
import { startRotatingServer, type RotatingServer } from '../support/rotating-server.js'
import { mountTmpfs, type Tmpfs } from '../support/tmpfs.js'

const FOREVER = 10 * 365 * 86_400_000 // a min validity that forces a refresh on every call

interface World {
  fs: Tmpfs
  as: RotatingServer
  deps: TestDeps
  authFile: string
  source: TokenSource
  foreign: string
}

async function world(t: Test, size = 512 * 1024): Promise<World | undefined> {
  const fs = mountTmpfs(t, size)
  if (typeof fs === 'string') {
    t.plan(0, fs) // skipped, with the reason
    return undefined
  }
  const as = await startRotatingServer(t)
  const authFile = join(fs.dir, 'auth.json')
  const raw = {
    dataDir: join(tempDir(t), 'data'), // SQLite lives elsewhere: only auth.json's disk is in trouble
    authFile,
    providers: { acme: { displayName: 'Acme', authorizationUrl: `${as.url}/auth`, tokenUrl: as.tokenUrl, clientId: 'c', clientSecret: 's', scopes: ['read'] } },
  }
  const deps = testDeps(t, { config: testConfig(t, raw), now: Date.now() })
  const grant = as.newGrant()
  // Another tool's entry, big enough that a temp copy of the file cannot fit in 4 KB.
  const foreign = JSON.stringify({ type: 'oauth', access: 'x'.repeat(12_000), refresh: 'theirs' })
  writeFileSync(authFile, `{"other": ${foreign}, "acme": ${JSON.stringify({ type: 'oauth', access: grant.access, refresh: grant.refresh, expires: Date.now() + 3_600_000 })}}`, { mode: 0o600 })
  return { fs, as, deps, authFile, source: new TokenSource(deps), foreign }
}

/** Fills the tmpfs until `leave` bytes are free; returns the filler to delete. */
function fill(fs: Tmpfs, leave: number): string {
  const filler = join(fs.dir, 'filler')
  writeFileSync(filler, Buffer.alloc(Math.max(0, fs.free() - leave)))
  return filler
}

const storedRefresh = (authFile: string) => (JSON.parse(readFileSync(authFile, 'utf8')) as { acme: { refresh: string } }).acme.refresh

t.test('disk full (4 KB free) after the provider rotated: the new tokens are kept and reach auth.json once there is room', async (t) => {
  const w = await world(t)
  if (!w) return
  await w.source.getAccessToken('acme', { minValidityMs: FOREVER }) // a normal refresh first: room is reserved from now on
  t.equal(storedRefresh(w.authFile), w.as.live())
  const before = readFileSync(w.authFile)
  const filler = fill(w.fs, 4096)
  t.ok(w.fs.free() <= 4096, `the disk is full (${w.fs.free()} bytes free)`)

  const token = await w.source.getAccessToken('acme', { minValidityMs: FOREVER })
  t.equal(token, w.as.issued.at(-1)?.access, 'the refresh succeeds and hands out the new access token')
  t.ok(readFileSync(w.authFile).equals(before), 'auth.json could not be written: unchanged, whole')
  t.equal((await readAuthFile(w.authFile)).acme && (await readAuthFile(w.authFile) as { acme: { refresh: string } }).acme.refresh, w.as.live(), 'a reader already sees the new refresh token (from the journal)')

  rmSync(filler)
  await w.source.getAccessToken('acme', { minValidityMs: FOREVER })
  t.same(w.as.reuses, [], 'the provider saw no reuse')
  t.same(w.as.requests.map((r) => r.outcome), ['issued', 'issued', 'issued'], 'every refresh was accepted: no needs_reauth')
  t.equal(storedRefresh(w.authFile), w.as.live(), 'auth.json holds the live refresh token')
  t.equal(JSON.stringify(JSON.parse(readFileSync(w.authFile, 'utf8')).other), JSON.stringify(JSON.parse(w.foreign)), 'the other tool’s entry is intact')
  // The write that applied the waiting answer fsynced the directory and blanked it; the last
  // refresh's record stays (auth.json holds it) until its room is needed.
  t.same((await readJournal(w.authFile)).map((r) => r.entry.refresh), [w.as.live()], 'the journal holds only the last answer, which auth.json has too')
})

t.test('disk full and the answer is lost neither by the next process: it applies the journal at start', async (t) => {
  const w = await world(t)
  if (!w) return
  await w.source.getAccessToken('acme', { minValidityMs: FOREVER })
  const filler = fill(w.fs, 4096)
  await w.source.getAccessToken('acme', { minValidityMs: FOREVER })
  rmSync(filler)
  // A new TokenSource (as a new `latchkey token` process would be) only reads: the file is brought up to date.
  const fresh = new TokenSource(w.deps)
  await fresh.getAccessToken('acme')
  t.equal(storedRefresh(w.authFile), w.as.live(), 'the kept tokens were written by the next reader')
  t.same(w.as.reuses, [])
})

t.test('disk full before any room was reserved: AUTH_FILE_UNWRITABLE before the request, nothing spent', async (t) => {
  const w = await world(t)
  if (!w) return
  const filler = fill(w.fs, 0)
  const err = await w.source.getAccessToken('acme', { minValidityMs: FOREVER }).catch((e: unknown) => e)
  t.ok(isAppError(err, 'AUTH_FILE_UNWRITABLE'), `AUTH_FILE_UNWRITABLE (${(err as Error).message})`)
  t.match((err as Error).message, w.fs.dir, 'names the file')
  t.match((err as Error).message, /disk is full.*Free some space/, 'and says what to do')
  t.notMatch((err as Error).message, /\n\s+at /, 'no stack trace')
  t.equal(w.as.requests.length, 0, 'no token request went out')
  rmSync(filler)
  await w.source.getAccessToken('acme', { minValidityMs: FOREVER })
  t.same(w.as.requests.map((r) => r.outcome), ['issued'], 'once there is room, the refresh works')
})

t.test('read-only directory where the lock file already exists: refused before the request, fine after', async (t) => {
  const w = await world(t)
  if (!w) return
  await w.source.getAccessToken('acme', { minValidityMs: FOREVER })
  t.ok(existsSync(`${w.authFile}.lock`), 'the lock file exists')
  w.fs.readOnly(true)
  const err = await w.source.getAccessToken('acme', { minValidityMs: FOREVER }).catch((e: unknown) => e)
  t.ok(isAppError(err, 'AUTH_FILE_UNWRITABLE'), `AUTH_FILE_UNWRITABLE (${(err as Error).message})`)
  t.match((err as Error).message, /read-only/)
  t.equal(w.as.requests.length, 1, 'no second token request went out')
  w.fs.readOnly(false)
  await w.source.getAccessToken('acme', { minValidityMs: FOREVER })
  t.same(w.as.reuses, [], 'no reuse')
  t.same(w.as.requests.map((r) => r.outcome), ['issued', 'issued'])
  t.equal(storedRefresh(w.authFile), w.as.live())
})

t.test('SQLITE_FULL from the lock on a full disk: AUTH_FILE_UNWRITABLE naming the lock file', async (t) => {
  const w = await world(t)
  if (!w) return
  fill(w.fs, 0)
  const err = await w.source.getAccessToken('acme', { minValidityMs: FOREVER }).catch((e: unknown) => e)
  t.ok(isAppError(err, 'AUTH_FILE_UNWRITABLE'), `AUTH_FILE_UNWRITABLE, not a raw SqliteError (${(err as Error).message})`)
  t.match((err as Error).message, /disk is full|could not be/)
  t.equal(w.as.requests.length, 0)
})

t.test('SQLITE_CANTOPEN in a read-only directory with no lock file: AUTH_FILE_UNWRITABLE naming the lock file', async (t) => {
  const w = await world(t)
  if (!w) return
  w.fs.readOnly(true)
  const err = await w.source.getAccessToken('acme', { minValidityMs: FOREVER }).catch((e: unknown) => e)
  t.ok(isAppError(err, 'AUTH_FILE_UNWRITABLE'), `AUTH_FILE_UNWRITABLE (${(err as Error).message})`)
  t.match((err as Error).message, `${w.authFile}.lock`, 'names the lock file')
  t.match((err as Error).message, /read-only/, 'and why')
  t.equal(w.as.requests.length, 0)
  w.fs.readOnly(false)
})

t.test('EISDIR: auth.json is a directory', async (t) => {
  const dir = tempDir(t)
  const authFile = join(dir, 'auth.json')
  mkdirSync(authFile)
  const err = await readAuthFile(authFile).catch((e: unknown) => e)
  t.ok(isAppError(err, 'AUTH_FILE_UNWRITABLE'), `AUTH_FILE_UNWRITABLE (${(err as Error).message})`)
  t.match((err as Error).message, authFile)
  t.match((err as Error).message, /it is a directory.*Move the directory away/)
})
