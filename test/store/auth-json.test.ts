// auth.json durability (oauth-security.md §5, issue 3): modes, other tools' keys, corrupt files,
// failed writes, SIGKILL in the middle of writes, and the cross-process lock.
import { spawn, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { chmodSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { fileURLToPath } from 'node:url'
import t from 'tap'
import { isAppError } from '../../src/errors.js'
import {
  readAuthFile,
  saveOAuthEntry,
  updateAuthFile,
  writeAuthFileAtomic,
  type AuthFile,
  type OAuthEntry,
} from '../../src/store/auth-json.js'
import { withAuthLock } from '../../src/store/auth-lock.js'
import { recoverAuthFile } from '../../src/store/auth-recovery.js'
import { tempDir } from '../support/deps.js'
import { killableChildEnv } from '../support/plain-env.js'
import { killTestDir } from '../support/tmpfs.js'

// The 500-kill loop takes ~150 s alone and over 200 s beside another file on two busy cores:
// this file gets 15 min instead of .taprc's 5 (a hang still fails, just later).
t.setTimeout(900_000)

const CHILD = fileURLToPath(new URL('../support/child-auth-writer.ts', import.meta.url))

const mode = (path: string): number => statSync(path).mode & 0o777
const tmpFiles = (dir: string): string[] => readdirSync(dir).filter((name) => name.endsWith('.tmp'))
const corruptCopies = (dir: string): string[] => readdirSync(dir).filter((name) => name.startsWith('auth.json.corrupt-'))

function warnLog(): { warn(obj: object, msg: string): void; calls: { obj: object; msg: string }[] } {
  const calls: { obj: object; msg: string }[] = []
  return { calls, warn: (obj, msg) => void calls.push({ obj, msg }) }
}

const DEXCOM: OAuthEntry = {
  type: 'oauth',
  access: 'access-1',
  refresh: 'refresh-1',
  expires: 1_764_000_000_000,
  scope: 'offline_access',
  tokenType: 'Bearer',
}

/** Another tool's entry, with content latchkey knows nothing about. */
const ANTHROPIC = {
  type: 'oauth',
  access: 'sk-ant-oat01-xxxx',
  refresh: 'sk-ant-ort01-yyyy',
  expires: 1_765_000_000_000,
  nested: { deep: [1, 2.5, -0.125, null, true, false, 'x', { ключ: 'значение 🎉', 'a"b': 'c\\d\n' }], empty: {}, none: [] },
  '10': 'numeric-looking key',
}

/** Resolves with the child's first stdout line starting with `prefix`; rejects if it exits first. */
function waitForLine(child: ChildProcess, prefix: string): Promise<string> {
  return new Promise((resolve, reject) => {
    let buffered = ''
    let stderr = ''
    const onData = (chunk: Buffer) => {
      buffered += chunk.toString('utf8')
      for (const line of buffered.split('\n').slice(0, -1)) {
        if (line.startsWith(prefix)) {
          cleanup()
          resolve(line)
          return
        }
      }
    }
    const onErr = (chunk: Buffer) => void (stderr += chunk.toString('utf8'))
    const onExit = (code: number | null, signal: string | null) => {
      cleanup()
      reject(new Error(`child exited (${code ?? signal}) before printing "${prefix}"; stdout: ${buffered}; stderr: ${stderr}`))
    }
    const cleanup = () => {
      child.stdout?.off('data', onData)
      child.stderr?.off('data', onErr)
      child.off('exit', onExit)
    }
    child.stdout?.on('data', onData)
    child.stderr?.on('data', onErr)
    child.on('exit', onExit)
  })
}

const LOOP_CHILD = fileURLToPath(new URL('../support/child-auth-loop.mjs', import.meta.url))

function spawnChild(args: string[]): ChildProcess {
  return spawn(process.execPath, ['--import', 'tsx', CHILD, ...args], { stdio: ['pipe', 'pipe', 'pipe'] })
}

async function killHard(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return
  const exited = once(child, 'exit')
  child.kill('SIGKILL')
  await exited
}

t.test('a first write creates the directory 0700 and the file 0600', async (t) => {
  const dir = tempDir(t)
  const path = join(dir, 'share', 'agent', 'auth.json')
  await writeAuthFileAtomic(path, { dexcom: DEXCOM })
  t.equal(mode(join(dir, 'share', 'agent')), 0o700, 'the auth directory is 0700')
  t.equal(mode(join(dir, 'share')), 0o700, 'and so is every directory created on the way')
  t.equal(mode(path), 0o600)
  t.strictSame(JSON.parse(readFileSync(path, 'utf8')), { dexcom: DEXCOM })
  t.strictSame(await readAuthFile(path), { dexcom: DEXCOM })
})

t.test('a missing file reads as empty, and saving into it creates it', async (t) => {
  const dir = tempDir(t)
  const path = join(dir, 'agent', 'auth.json')
  t.strictSame(await readAuthFile(path), {})
  await saveOAuthEntry(path, 'dexcom', DEXCOM)
  t.strictSame(await readAuthFile(path), { dexcom: DEXCOM })
  t.equal(mode(path), 0o600)
})

t.test('an existing 0644 file becomes 0600, with a warning', async (t) => {
  const dir = tempDir(t)
  const path = join(dir, 'auth.json')
  writeFileSync(path, JSON.stringify({ anthropic: ANTHROPIC }))
  chmodSync(path, 0o644)
  const log = warnLog()
  await saveOAuthEntry(path, 'dexcom', DEXCOM, log)
  t.equal(mode(path), 0o600)
  t.equal(log.calls.length, 1, 'one warning')
  t.match(log.calls[0], { obj: { file: path, mode: '644' }, msg: /readable by others/ })

  await saveOAuthEntry(path, 'dexcom', { ...DEXCOM, access: 'access-2' }, log)
  t.equal(log.calls.length, 1, 'no warning once the file is 0600')
  t.equal(mode(path), 0o600)
})

t.test('other keys are preserved exactly', async (t) => {
  const dir = tempDir(t)
  const path = join(dir, 'auth.json')
  const original = { anthropic: ANTHROPIC, openai: 'a plain string', dexcom: { type: 'oauth', access: 'old' } }
  writeFileSync(path, JSON.stringify(original, null, 4), { mode: 0o600 })

  await saveOAuthEntry(path, 'dexcom', DEXCOM)
  await saveOAuthEntry(path, 'oura', { type: 'oauth', access: 'oura-at' })
  const after = JSON.parse(readFileSync(path, 'utf8')) as AuthFile
  t.strictSame(after.anthropic, ANTHROPIC)
  t.equal(JSON.stringify(after.anthropic), JSON.stringify(ANTHROPIC), 'same key order, same values')
  t.equal(after.openai, 'a plain string')
  t.strictSame(after.dexcom, DEXCOM, 'our entry is replaced whole')
  t.strictSame(after.oura, { type: 'oauth', access: 'oura-at' })
  t.same(Object.keys(after).sort(), ['anthropic', 'dexcom', 'openai', 'oura'])

  const returned = await updateAuthFile(path, (current) => {
    const { oura: _removed, ...rest } = current
    return rest
  })
  t.notOk('oura' in returned, 'updateAuthFile returns what it wrote')
  t.strictSame(await readAuthFile(path), returned)
})

t.test('no .tmp files are left behind by writes', async (t) => {
  const dir = tempDir(t)
  const path = join(dir, 'auth.json')
  for (let i = 0; i < 5; i++) await writeAuthFileAtomic(path, { n: i })
  for (let i = 0; i < 5; i++) await saveOAuthEntry(path, `p${i}`, DEXCOM)
  await Promise.all(Array.from({ length: 10 }, (_, i) => saveOAuthEntry(path, `q${i}`, DEXCOM)))
  t.same(tmpFiles(dir), [])
  const content = await readAuthFile(path)
  t.equal(content.n, 4)
  t.equal(Object.keys(content).length, 16, 'n, p0..p4 and q0..q9: no concurrent save was lost in one process')
})

const CORRUPT: [string, string][] = [
  ['truncated JSON', '{\n  "anthropic": {"type": "oauth", "access": "sk-ant'],
  ['a JSON array', '[]'],
  ['an empty file', ''],
  ['JSON null', 'null'],
  ['a JSON string', '"{}"'],
  ['binary garbage', '\u0000\u0000\u0000\u0000'],
]

for (const [name, bytes] of CORRUPT) {
  t.test(`a corrupt file (${name}) is kept aside and never overwritten`, async (t) => {
    const dir = tempDir(t)
    const path = join(dir, 'auth.json')
    writeFileSync(path, bytes)
    chmodSync(path, 0o600)
    const original = readFileSync(path)

    const err = await readAuthFile(path).then(
      () => undefined,
      (e: unknown) => e,
    )
    t.ok(isAppError(err, 'AUTH_FILE_CORRUPT'), 'AUTH_FILE_CORRUPT')
    t.match((err as Error).message, path, 'names the file')
    const copies = corruptCopies(dir)
    t.equal(copies.length, 1, 'one copy')
    const copy = join(dir, copies[0] ?? '')
    t.match((err as Error).message, copy, 'names the copy')
    t.ok(readFileSync(copy).equals(original), 'the copy holds the exact bytes')
    t.equal(mode(copy), 0o600, 'the copy is 0600')
    t.ok(readFileSync(path).equals(original), 'the original is untouched')

    await t.rejects(readAuthFile(path), { code: 'AUTH_FILE_CORRUPT' }, 'a second read fails the same way')
    await t.rejects(saveOAuthEntry(path, 'dexcom', DEXCOM), { code: 'AUTH_FILE_CORRUPT' }, 'a save is refused')
    await t.rejects(
      updateAuthFile(path, () => ({})),
      { code: 'AUTH_FILE_CORRUPT' },
      'an update that would wipe it is refused',
    )
    t.same(corruptCopies(dir), copies, 'still exactly one copy')
    t.ok(readFileSync(path).equals(original), 'the original is still untouched')
    t.equal(mode(path), 0o600)
    t.same(tmpFiles(dir), [])
  })
}

t.test('a write that cannot create its temp file leaves everything as it was', async (t) => {
  const dir = tempDir(t)
  const blocker = join(dir, 'not-a-dir')
  writeFileSync(blocker, 'plain file')
  await t.rejects(writeAuthFileAtomic(join(blocker, 'auth.json'), { dexcom: DEXCOM }))
  t.equal(readFileSync(blocker, 'utf8'), 'plain file')
})

t.test('a write whose rename fails removes its temp file', async (t) => {
  const dir = tempDir(t)
  const path = join(dir, 'auth.json')
  mkdirSync(join(path, 'occupied'), { recursive: true }) // a non-empty directory where the file should be
  await t.rejects(writeAuthFileAtomic(path, { dexcom: DEXCOM }))
  t.same(tmpFiles(dir), [], 'no temp file left with the tokens in it')
})

t.test('file size limit (RLIMIT_FSIZE, as on a full disk): the original is byte-identical', async (t) => {
  const dir = tempDir(t)
  const path = join(dir, 'auth.json')
  await writeAuthFileAtomic(path, { anthropic: ANTHROPIC, dexcom: DEXCOM })
  const original = readFileSync(path)
  const small = join(dir, 'small.json')
  const big = join(dir, 'big.json')
  writeFileSync(small, JSON.stringify({ anthropic: ANTHROPIC, dexcom: { ...DEXCOM, access: 'small' } }))
  writeFileSync(big, JSON.stringify({ anthropic: ANTHROPIC, dexcom: { ...DEXCOM, access: 'x'.repeat(1 << 20) } }))

  // bash's `ulimit -f` counts 1024-byte blocks: 64 KiB is plenty for `small`, far too little for `big`.
  const run = async (dataFile: string, ...flags: string[]): Promise<{ stdout: string; signal: string | null }> => {
    const child = spawn(
      'bash',
      ['-c', 'ulimit -f 64 && exec "$@"', 'bash', process.execPath, '--import', 'tsx', CHILD, 'write', path, dataFile, ...flags],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    )
    let stdout = ''
    child.stdout.on('data', (c: Buffer) => void (stdout += c.toString('utf8')))
    const [, signal] = (await once(child, 'exit')) as [number | null, string | null]
    return { stdout: stdout.trim(), signal }
  }

  t.test('the writer is killed by SIGXFSZ mid-write (Node 20 default)', async (t) => {
    const killed = await run(big)
    t.equal(killed.signal, 'SIGXFSZ', 'the kernel stopped the oversized write')
    t.ok(readFileSync(path).equals(original), 'the original is byte-identical')
    t.equal(mode(path), 0o600)
    const left = tmpFiles(dir)
    t.equal(left.length, 1, 'the killed writer left its partial temp file')
    t.equal(mode(join(dir, left[0] ?? '')), 0o600, 'and it is 0600')
  })

  t.test('the write fails with EFBIG', async (t) => {
    const failed = await run(big, 'handle-xfsz')
    t.equal(failed.stdout, `error AUTH_FILE_UNWRITABLE: ${path} could not be written (EFBIG: a file size limit was hit). Free some space, then try again.`, 'a clear error naming the file reaches the caller')
    t.ok(readFileSync(path).equals(original), 'the original is byte-identical')
    t.equal(mode(path), 0o600)
    t.equal(tmpFiles(dir).length, 1, 'its own partial temp file is removed (only the killed writer\'s remains)')
  })

  t.test('control: a write under the limit succeeds in the same setup', async (t) => {
    const ok = await run(small, 'handle-xfsz')
    t.equal(ok.stdout, 'ok')
    t.equal(((await readAuthFile(path)) as { dexcom: OAuthEntry }).dexcom.access, 'small')
  })
})

t.test('SIGKILL at random moments during writes: the file always parses and is one whole version', async (t) => {
  const KILLS = 500
  const LANES = 2 // independent directories, killed in parallel to keep the run short
  const dir = killTestDir(t, () => tempDir(t))
  // Large versions (~300 KB) so a non-atomic write would be caught half-done.
  const versions: AuthFile[] = [0, 1, 2].map((n) => ({
    anthropic: ANTHROPIC,
    dexcom: { ...DEXCOM, access: String(n).repeat(300_000), refresh: `refresh-${n}` },
    [`only-in-version-${n}`]: true,
  }))
  const serialized = versions.map((v) => JSON.stringify(v))
  const versionsFile = join(dir, 'versions.json')
  writeFileSync(versionsFile, JSON.stringify(versions))

  const problems: string[] = []
  const seen = new Set<number>()
  let leftoverTmp = 0
  const lane = async (laneNo: number): Promise<void> => {
    const laneDir = join(dir, `lane-${laneNo}`)
    const path = join(laneDir, 'auth.json')
    await writeAuthFileAtomic(path, versions[2] ?? {})
    for (let i = 0; i < KILLS / LANES; i++) {
      const child = spawn(process.execPath, [LOOP_CHILD, path, versionsFile], { stdio: ['ignore', 'pipe', 'pipe'], env: killableChildEnv() })
      await waitForLine(child, 'ready')
      await sleep(Math.random() * 50)
      await killHard(child)
      const bytes = readFileSync(path, 'utf8')
      let index = -1
      try {
        index = serialized.indexOf(JSON.stringify(JSON.parse(bytes)))
      } catch {
        problems.push(`lane ${laneNo} kill ${i}: does not parse (${bytes.length} bytes)`)
        continue
      }
      if (index < 0) problems.push(`lane ${laneNo} kill ${i}: parses but is none of the versions`)
      else seen.add(index)
      if (mode(path) !== 0o600) problems.push(`lane ${laneNo} kill ${i}: mode ${mode(path).toString(8)}`)
      for (const tmp of tmpFiles(laneDir)) {
        if (mode(join(laneDir, tmp)) !== 0o600) problems.push(`lane ${laneNo}: temp file ${tmp} is not 0600`)
      }
    }
    leftoverTmp += tmpFiles(laneDir).length
    // What start-up does: the killed writers' temp files go; a whole one newer than the file
    // gives its entries (it held what its writer was about to rename); the file stays whole.
    await recoverAuthFile(path)
    if (tmpFiles(laneDir).length !== 0) problems.push(`lane ${laneNo}: ${tmpFiles(laneDir).length} temp files survived the cleanup`)
    try {
      const after = JSON.parse(readFileSync(path, 'utf8')) as AuthFile
      if (JSON.stringify(after.anthropic) !== JSON.stringify(ANTHROPIC)) problems.push(`lane ${laneNo}: cleanup changed another tool's entry`)
    } catch {
      problems.push(`lane ${laneNo}: auth.json does not parse after the cleanup`)
    }
  }
  await Promise.all(Array.from({ length: LANES }, (_, i) => lane(i)))

  t.same(problems, [], `${KILLS} kills, every file whole`)
  t.ok(seen.size >= 2, `kills landed between different writes (versions seen: ${[...seen].sort().join(', ')})`)
  t.ok(leftoverTmp > 0, `killed writers left temp files (${leftoverTmp}, all 0600), and start-up cleanup removed them`)
})

t.test('lock across processes: 4 children × 25 locked increments = 100', async (t) => {
  const dir = tempDir(t)
  const path = join(dir, 'auth.json')
  await writeAuthFileAtomic(path, { anthropic: ANTHROPIC, counter: 0 })
  const children = Array.from({ length: 4 }, () => spawnChild(['counter', path, '25']))
  t.teardown(() => Promise.all(children.map(killHard)))
  await Promise.all(children.map((c) => waitForLine(c, 'ready')))
  const done = children.map((c) => waitForLine(c, 'done'))
  const exits = children.map((c) => once(c, 'exit'))
  for (const c of children) c.stdin?.write('go\n')
  await Promise.all(done)
  const codes = (await Promise.all(exits)).map(([code]) => code as number | null)
  t.same(codes, [0, 0, 0, 0], 'every child exits cleanly')

  const content = await readAuthFile(path)
  t.equal(content.counter, 100, 'no increment lost')
  for (const c of children) t.equal(content[`last-${c.pid}`], 24, `child ${c.pid} finished its 25 cycles`)
  t.strictSame(content.anthropic, ANTHROPIC, 'the other key survived 100 rewrites')
})

t.test('lock in one process: concurrent updates are serialised', async (t) => {
  const dir = tempDir(t)
  const path = join(dir, 'auth.json')
  await Promise.all(
    Array.from({ length: 20 }, () =>
      updateAuthFile(path, async (current) => {
        const value = typeof current.counter === 'number' ? current.counter : 0
        await sleep(1)
        return { ...current, counter: value + 1 }
      }),
    ),
  )
  t.equal((await readAuthFile(path)).counter, 20)
})

t.test('a lock holder killed with SIGKILL does not block the next taker', async (t) => {
  const dir = tempDir(t)
  const path = join(dir, 'auth.json')
  await writeAuthFileAtomic(path, { dexcom: DEXCOM })
  const holder = spawnChild(['hold', path])
  t.teardown(() => killHard(holder))
  await waitForLine(holder, 'locked')

  let ran = false
  await t.rejects(
    withAuthLock(path, async () => void (ran = true), { timeoutMs: 300 }),
    { code: 'LOCK_TIMEOUT' },
    'while the child lives, the lock is really held',
  )
  t.notOk(ran, 'the function did not run without the lock')

  await killHard(holder)
  const started = Date.now()
  const result = await withAuthLock(path, async () => 'taken', { timeoutMs: 2000 })
  const waited = Date.now() - started
  t.equal(result, 'taken', 'the next taker gets the lock')
  t.ok(waited < 1000, `promptly (${waited} ms)`)

  await saveOAuthEntry(path, 'oura', { type: 'oauth', access: 'oura-at' })
  t.strictSame(await readAuthFile(path), { dexcom: DEXCOM, oura: { type: 'oauth', access: 'oura-at' } })
})

t.test('the lock is released when the function throws', async (t) => {
  const dir = tempDir(t)
  const path = join(dir, 'auth.json')
  await t.rejects(withAuthLock(path, async () => Promise.reject(new Error('boom'))), /boom/)
  t.equal(await withAuthLock(path, async () => 'again', { timeoutMs: 500 }), 'again')
  await t.rejects(
    updateAuthFile(path, () => {
      throw new Error('mutate failed')
    }),
    /mutate failed/,
  )
  t.equal(await withAuthLock(path, async () => 'still free', { timeoutMs: 500 }), 'still free')
})
