// Audit rows are queued and written in batches: whoever reads them (the daemon's own listAudit,
// another process's connection after the daemon closes) must still see every one.
import { join } from 'node:path'
import t from 'tap'
import { listAudit, queueAudit, type AuditRecord } from '../../src/broker/audit.js'
import { openDb } from '../../src/db/open.js'
import { tempDir } from '../support/deps.js'
import { brokerWorld } from './world.js'

const row = (agent: string, time: number): AuditRecord => ({ time, agent, connection: 'acme', method: 'GET', path: '/v1/me', status: 200, durationMs: 1, bytes: 2 })

t.test('queued rows are written before listAudit reads, all in one go', async (t) => {
  const file = join(tempDir(t), 'latchkey.db')
  const db = openDb(file)
  t.teardown(() => db.close())
  const errors: unknown[] = []
  const now = Date.now()
  for (const name of ['a', 'b', 'c']) queueAudit(db, row(name, now), (err) => errors.push(err))
  t.same(
    listAudit(db, 0).map((r) => r.agent),
    ['a', 'b', 'c'],
  )
  const other = openDb(file)
  t.teardown(() => other.close())
  t.equal(listAudit(other, 0).length, 3, 'committed: another connection sees them')
  t.same(errors, [])
})

t.test('the rows of requests answered before the daemon closes are all in the database afterwards', async (t) => {
  const w = await brokerWorld(t)
  const agent = w.agent('closer', ['acme:GET:/v1/'])
  for (let i = 0; i < 3; i++) {
    const res = await w.call('/proxy/acme/v1/me', { token: agent })
    t.equal(res.status, 200)
    await res.arrayBuffer()
  }
  const file = w.d.daemon.deps.config.dbFile
  await w.d.daemon.close()
  const db = openDb(file)
  t.teardown(() => db.close())
  t.equal(listAudit(db, 0).filter((r) => r.agent === 'closer').length, 3)
})
