import type { Statement } from 'better-sqlite3'
import type { Db } from './open.js'

const cache = new WeakMap<Db, Map<string, Statement>>()

/**
 * The statement for `sql`, compiled once per connection: for queries on a hot path
 * (getAccessToken's status check), where preparing costs more than running.
 */
export function prepared(db: Db, sql: string): Statement {
  let statements = cache.get(db)
  if (!statements) cache.set(db, (statements = new Map()))
  let statement = statements.get(sql)
  if (!statement) statements.set(sql, (statement = db.prepare(sql)))
  return statement
}
