// The auth.json lock across threads, as Bree workers and the daemon's main thread share it:
// 4 worker threads × 25 locked read-increment-write cycles, beside the main thread doing the same.
// Workers run the compiled store (`npm test` builds first), as the daemon's workers do.
import { fileURLToPath } from 'node:url'
import { join } from 'node:path'
import { Worker } from 'node:worker_threads'
import t from 'tap'
import { readAuthFile, updateAuthFile, writeAuthFileAtomic } from '../../src/store/auth-json.js'
import { tempDir } from '../support/deps.js'

const STORE = fileURLToPath(new URL('../../dist/src/store/auth-json.js', import.meta.url))

const WORKER = `
const { workerData, parentPort } = require('node:worker_threads')
import(workerData.store).then(async ({ updateAuthFile }) => {
  for (let i = 0; i < workerData.cycles; i++)
    await updateAuthFile(workerData.path, async (current) => {
      const value = current.counter
      await new Promise((r) => setTimeout(r, Math.random() * 3)) // widen the read-write gap
      return { ...current, counter: value + 1, ['last-' + workerData.id]: i }
    })
  parentPort.postMessage('done')
})
`

t.test('lock across threads: 4 workers × 25 + the main thread × 25 = 125 increments', async (t) => {
  const path = join(tempDir(t), 'auth.json')
  await writeAuthFileAtomic(path, { anthropic: { type: 'api', key: 'keep' }, counter: 0 })
  const workers = Array.from({ length: 4 }, (_, id) => new Worker(WORKER, { eval: true, workerData: { store: STORE, path, cycles: 25, id }, execArgv: [] }))
  t.teardown(() => Promise.all(workers.map((w) => w.terminate())))
  const finished = workers.map(
    (w) =>
      new Promise<void>((resolve, reject) => {
        w.once('message', () => resolve())
        w.once('error', reject)
      }),
  )
  const main = (async () => {
    for (let i = 0; i < 25; i++)
      await updateAuthFile(path, async (current) => ({ ...current, counter: (current.counter as number) + 1, 'last-main': i }))
  })()
  await Promise.all([...finished, main])
  const content = await readAuthFile(path)
  t.equal(content.counter, 125, 'no increment lost between threads')
  t.same([0, 1, 2, 3, 'main'].map((id) => content[`last-${id}`]), [24, 24, 24, 24, 24], 'every thread finished its cycles')
  t.same(content.anthropic, { type: 'api', key: 'keep' }, 'the other key survived')
})
