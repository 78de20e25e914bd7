// A child process for the auth.json durability and lock tests (test/store/auth-json.test.ts).
// Spawned as `node --import tsx test/support/child-auth-writer.ts <mode> <authFile> [...]`.
//
//   loop <authFile> <versionsFile>  writes the versions (a JSON array) in turn through
//                                   writeAuthFileAtomic forever; prints "ready" after the first write
//   counter <authFile> <n>          prints "ready", waits for a line on stdin, then does n locked
//                                   read-increment-write cycles of `counter`; prints "done"
//   hold <authFile>                 takes the auth lock, prints "locked" and keeps it until killed
//   write <authFile> <dataFile> [handle-xfsz]
//                                   one writeAuthFileAtomic of the data file's JSON; prints "ok" or
//                                   "error <code>" (used under `ulimit -f`). Node 20 resets SIGXFSZ to
//                                   its default (terminate); with handle-xfsz a no-op handler is
//                                   installed so that the write fails with EFBIG instead
import { readFileSync } from 'node:fs'
import { once } from 'node:events'
import { setTimeout as sleep } from 'node:timers/promises'
import { updateAuthFile, writeAuthFileAtomic, type AuthFile } from '../../src/store/auth-json.js'
import { withAuthLock } from '../../src/store/auth-lock.js'

const [mode, authFile, arg, flag] = process.argv.slice(2)
if (!mode || !authFile) throw new Error('usage: child-auth-writer <mode> <authFile> [arg]')

function say(line: string): void {
  process.stdout.write(`${line}\n`)
}

if (mode === 'loop') {
  const versions = JSON.parse(readFileSync(arg ?? '', 'utf8')) as AuthFile[]
  for (let i = 0; ; i++) {
    await writeAuthFileAtomic(authFile, versions[i % versions.length] ?? {})
    if (i === 0) say('ready')
  }
} else if (mode === 'counter') {
  const n = Number(arg)
  say('ready')
  process.stdin.setEncoding('utf8')
  await once(process.stdin, 'data')
  process.stdin.pause()
  for (let i = 0; i < n; i++) {
    await updateAuthFile(authFile, async (current) => {
      const value = typeof current.counter === 'number' ? current.counter : 0
      // Widen the read-modify-write window so that a missing lock would lose updates.
      await sleep(1 + Math.random() * 3)
      return { ...current, counter: value + 1, [`last-${process.pid}`]: i }
    })
  }
  say('done')
} else if (mode === 'hold') {
  const keepAlive = setInterval(() => {}, 60_000)
  await withAuthLock(authFile, async () => {
    say('locked')
    await new Promise(() => {})
  })
  clearInterval(keepAlive)
} else if (mode === 'write') {
  if (flag === 'handle-xfsz') process.on('SIGXFSZ', () => {})
  try {
    await writeAuthFileAtomic(authFile, JSON.parse(readFileSync(arg ?? '', 'utf8')) as AuthFile)
    say('ok')
  } catch (err) {
    say(`error ${(err as NodeJS.ErrnoException).code}: ${(err as Error).message}`)
  }
} else {
  throw new Error(`unknown mode ${mode}`)
}
