// The journal keeps each refresh's answer after auth.json holds it (the rename is then not
// fsynced: the fsynced record covers a power cut), and blanks applied records only once they
// take their room, after one directory fsync. These tests pin what that must never cost: the
// journal stays its reserved size, applied records never read as waiting or stale, and a chain
// of answers auth.json never got (a disk full twice in a row) is applied in order.
import { readFileSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import t, { type Test } from 'tap'
import { TokenSource } from '../../src/oauth/refresh.js'
import { readAuthFile } from '../../src/store/auth-json.js'
import { journalPath, readJournal } from '../../src/store/auth-journal.js'
import { tempDir, testConfig, testDeps } from '../support/deps.js'
import { startRotatingServer } from '../support/rotating-server.js'

const FOREVER = 10 * 365 * 86_400_000 // a min validity that forces a refresh on every call

async function world(t: Test) {
  const as = await startRotatingServer(t)
  const dir = tempDir(t)
  const authFile = join(dir, 'auth.json')
  const raw = { dataDir: join(dir, 'data'), authFile, providers: { acme: { displayName: 'Acme', authorizationUrl: `${as.url}/auth`, tokenUrl: as.tokenUrl, clientId: 'c', clientSecret: 's', scopes: ['read'] } } }
  const deps = testDeps(t, { config: testConfig(t, raw), now: Date.now() })
  const grant = as.newGrant()
  writeFileSync(authFile, JSON.stringify({ other: { keep: 'me' }, acme: { type: 'oauth', access: grant.access, refresh: grant.refresh, expires: Date.now() + 3_600_000 } }), { mode: 0o600 })
  return { as, deps, authFile, source: new TokenSource(deps) }
}

t.test('200 refreshes: applied records are blanked when their room is needed; the journal never grows', async (t) => {
  const w = await world(t)
  const sizes = new Set<number>()
  const misread: number[] = []
  let most = 0
  for (let i = 0; i < 200; i++) {
    await w.source.getAccessToken('acme', { minValidityMs: FOREVER })
    sizes.add(statSync(journalPath(w.authFile)).size)
    most = Math.max(most, (await readJournal(w.authFile)).length)
    // Every record is one auth.json already holds: readers and the file agree on the live token.
    const read = (await readAuthFile(w.authFile)) as { acme: { refresh: string } }
    if (read.acme.refresh !== w.as.live() || JSON.parse(readFileSync(w.authFile, 'utf8')).acme.refresh !== w.as.live()) misread.push(i)
  }
  t.same(misread, [], 'after every refresh, auth.json and its readers hold the live refresh token')
  t.same([...sizes], [128 * 1024], 'the journal keeps its reserved size')
  t.ok(most > 1 && most < 100, `applied records pile up, then are blanked (at most ${most} at once)`)
  t.ok((await readJournal(w.authFile)).length < most, 'fewer now than at the most: a reclaim happened')
  t.same(w.as.reuses, [], 'no refresh token was presented twice')
  t.notMatch(w.deps.logs.text(), /older than the entry/, 'applied records are never reported as stale')
  t.match(w.deps.logs.text(), /token refreshed/, '(the log this looks at is the refreshes’ own)')
})

t.test('two answers auth.json never got are applied in order, the newest wins', async (t) => {
  const w = await world(t)
  await w.source.getAccessToken('acme', { minValidityMs: FOREVER })
  const first = readFileSync(w.authFile)
  await w.source.getAccessToken('acme', { minValidityMs: FOREVER })
  await w.source.getAccessToken('acme', { minValidityMs: FOREVER })
  // As after a power cut that lost both renames: the file from before, both records kept.
  writeFileSync(w.authFile, first)
  const records = await readJournal(w.authFile)
  t.ok(records.length >= 2, `the journal holds the last answers (${records.length})`)
  t.equal((await readAuthFile(w.authFile) as { acme: { refresh: string } }).acme.refresh, w.as.live(), 'a reader sees the newest answer')
  t.equal(JSON.parse(readFileSync(w.authFile, 'utf8')).acme.refresh, w.as.live(), 'and it was written back to auth.json')
  t.equal(JSON.parse(readFileSync(w.authFile, 'utf8')).other.keep, 'me', "the other tool's entry is intact")
  await w.source.getAccessToken('acme', { minValidityMs: FOREVER })
  t.same(w.as.reuses, [], 'the next refresh presents the live token: no reuse')
})

t.test('another writer replaces the entry: the file wins, quietly, on every read', async (t) => {
  const w = await world(t)
  await w.source.getAccessToken('acme', { minValidityMs: FOREVER })
  const hand = { type: 'oauth', access: 'by-hand', refresh: 'rt-by-hand', expires: Date.now() + 3_600_000 }
  writeFileSync(w.authFile, JSON.stringify({ other: { keep: 'me' }, acme: hand }))
  for (let i = 0; i < 3; i++) t.same((await readAuthFile(w.authFile, w.deps.log)).acme, hand, `read ${i + 1}: the file's entry`)
  t.equal(w.deps.logs.lines().filter((l) => Number(l.level) >= 40).length, 0, 'no warning for a record the file has moved past')
  t.match(w.deps.logs.text(), /the file wins/, '(said at debug level)')
})
