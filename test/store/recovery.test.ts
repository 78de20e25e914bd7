// Issue 9 items 4, 5 and 6: a killed writer's temp file is recovered, not deleted blindly; a
// foreign tool rewriting auth.json in place is not mistaken for corruption (and copies stay
// few); a symlinked auth.json is written through to its target.
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { lstatSync, mkdirSync, readdirSync, readFileSync, readlinkSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { isAppError } from '../../src/errors.js'
import { readAuthFile, saveOAuthEntry, writeAuthFileAtomic, type OAuthEntry } from '../../src/store/auth-json.js'
import { MAX_CORRUPT_COPIES } from '../../src/store/auth-corrupt.js'
import { recoverAuthFile } from '../../src/store/auth-recovery.js'
import { tempDir } from '../support/deps.js'

const FOREIGN = '{"type":"oauth","access":"theirs","refresh":"their-rt","id":12345678901234567890}'
const entry = (n: number): OAuthEntry => ({ type: 'oauth', access: `at-${n}`, refresh: `rt-${n}`, expires: 1_800_000_000_000 })
/** A pid that is surely not running. */
const DEAD_PID = 2 ** 22 + 17

t.test('item 4: a whole temp file newer than auth.json (killed between fsync and rename) is recovered at start-up', async (t) => {
  const dir = tempDir(t)
  const path = join(dir, 'auth.json')
  writeFileSync(path, `{"other": ${FOREIGN}, "acme": ${JSON.stringify(entry(1))}}`, { mode: 0o600 })
  const old = new Date(Date.now() - 60_000)
  utimesSync(path, old, old)
  // What the killed writer had fsynced but not renamed: the only copy of rt-2.
  const tmp = join(dir, `.auth.json.${DEAD_PID}.0a1b2c3d4e5f.tmp`)
  writeFileSync(tmp, `{"other": ${FOREIGN}, "acme": ${JSON.stringify(entry(2))}}`, { mode: 0o600 })

  const result = await recoverAuthFile(path)
  t.same(result.recovered, ['acme'])
  t.same(result.removed, [tmp])
  const after = readFileSync(path, 'utf8')
  t.equal(JSON.parse(after).acme.refresh, 'rt-2', 'the newer refresh token is in auth.json')
  t.match(after, FOREIGN, 'the other tool’s entry is byte-identical')
  t.same(readdirSync(dir).filter((n) => n.endsWith('.tmp')), [], 'the temp file is gone once applied')
})

t.test('item 4: an older or partial temp file holds nothing new and is deleted without touching auth.json', async (t) => {
  const dir = tempDir(t)
  const path = join(dir, 'auth.json')
  writeFileSync(path, `{"acme": ${JSON.stringify(entry(5))}}`, { mode: 0o600 })
  const older = join(dir, `.auth.json.${DEAD_PID}.aaaaaaaaaaaa.tmp`)
  writeFileSync(older, `{"acme": ${JSON.stringify(entry(4))}}`)
  const past = new Date(Date.now() - 60_000)
  utimesSync(older, past, past)
  const partial = join(dir, `.auth.json.${DEAD_PID}.bbbbbbbbbbbb.tmp`)
  writeFileSync(partial, '{"acme": {"type": "oauth", "acc')
  const before = readFileSync(path)
  const result = await recoverAuthFile(path)
  t.same(result.recovered, [])
  t.equal(result.removed.length, 2)
  t.ok(readFileSync(path).equals(before), 'auth.json unchanged')
})

t.test('item 4: a live writer’s temp file is left alone', async (t) => {
  const dir = tempDir(t)
  const path = join(dir, 'auth.json')
  writeFileSync(path, '{}')
  const mine = join(dir, `.auth.json.${process.pid}.cccccccccccc.tmp`)
  writeFileSync(mine, `{"acme": ${JSON.stringify(entry(9))}}`)
  t.same(await recoverAuthFile(path), { removed: [], recovered: [] })
  t.same(readdirSync(dir).filter((n) => n.endsWith('.tmp')), ['.auth.json.' + process.pid + '.cccccccccccc.tmp'])
})

t.test('item 5: a foreign tool truncating and rewriting auth.json in place is never taken for corruption', async (t) => {
  const dir = tempDir(t)
  const path = join(dir, 'auth.json')
  writeFileSync(path, JSON.stringify({ other: JSON.parse(FOREIGN), pad: 'p'.repeat(200_000) }))
  // The foreign writer: truncate, then write the new content in a few pieces, every 10 ms.
  const writer = spawn(
    process.execPath,
    [
      '-e',
      `const fs = require('fs'); const p = process.argv[1];
       const body = Buffer.from(JSON.stringify({ other: { type: 'oauth', access: 'x' }, pad: 'p'.repeat(200000) }));
       const end = Date.now() + 4000;
       while (Date.now() < end) { const fd = fs.openSync(p, 'w'); for (let i = 0; i < body.length; i += 16384) fs.writeSync(fd, body, i, Math.min(16384, body.length - i)); fs.closeSync(fd); Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 10) }`,
      path,
    ],
    { stdio: 'ignore' },
  )
  const exited = once(writer, 'exit')
  let reads = 0
  let corrupt = 0
  while (writer.exitCode === null) {
    try {
      await readAuthFile(path)
      await saveOAuthEntry(path, 'acme', entry(reads))
    } catch (err) {
      if (isAppError(err, 'AUTH_FILE_CORRUPT')) corrupt++
      else throw err
    }
    reads++
  }
  await exited
  t.ok(reads > 20, `${reads} reads and saves while it rewrote the file`)
  t.equal(corrupt, 0, 'no AUTH_FILE_CORRUPT')
  t.same(readdirSync(dir).filter((n) => n.includes('.corrupt-')), [], 'no .corrupt copies')
})

t.test('item 5: a really corrupt file is still refused, and copies stay few and distinct', async (t) => {
  const dir = tempDir(t)
  const path = join(dir, 'auth.json')
  for (let i = 0; i < MAX_CORRUPT_COPIES + 4; i++) {
    writeFileSync(path, `{"broken": ${i}`)
    await t.rejects(readAuthFile(path), { code: 'AUTH_FILE_CORRUPT' })
    await t.rejects(readAuthFile(path), { code: 'AUTH_FILE_CORRUPT' }, 'the same bytes again make no new copy')
  }
  const copies = readdirSync(dir).filter((n) => n.includes('.corrupt-'))
  t.equal(copies.length, MAX_CORRUPT_COPIES, `at most ${MAX_CORRUPT_COPIES} copies`)
  const contents = new Set(copies.map((c) => readFileSync(join(dir, c), 'utf8')))
  t.equal(contents.size, copies.length, 'no two alike')
  t.ok(contents.has(`{"broken": ${MAX_CORRUPT_COPIES + 3}`), 'the newest is kept')
})

t.test('item 6: a symlinked auth.json is written through to its target', async (t) => {
  const dir = tempDir(t)
  const secrets = join(dir, 'dotfiles', 'secrets')
  mkdirSync(secrets, { recursive: true })
  const target = join(secrets, 'auth.json')
  writeFileSync(target, `{"other": ${FOREIGN}, "acme": ${JSON.stringify(entry(1))}}`, { mode: 0o600 })
  const agent = join(dir, 'agent')
  mkdirSync(agent)
  const link = join(agent, 'auth.json')
  symlinkSync('../dotfiles/secrets/auth.json', link) // relative, as dotfile managers make them

  await saveOAuthEntry(link, 'acme', entry(2))
  t.ok(lstatSync(link).isSymbolicLink(), 'the link is still a link')
  t.equal(readlinkSync(link), '../dotfiles/secrets/auth.json')
  const content = readFileSync(target, 'utf8')
  t.equal(JSON.parse(content).acme.refresh, 'rt-2', 'the target holds the new refresh token')
  t.match(content, FOREIGN, 'and the other entry byte for byte')
  t.equal(lstatSync(target).mode & 0o777, 0o600)
  t.same(readdirSync(secrets).filter((n) => n.endsWith('.tmp')), [])

  await writeAuthFileAtomic(link, { acme: entry(3) })
  t.equal(JSON.parse(readFileSync(target, 'utf8')).acme.refresh, 'rt-3', 'so does a plain write')
  t.equal((await readAuthFile(link) as { acme: OAuthEntry }).acme.refresh, 'rt-3')
})
