import type { Statement, Transaction } from 'better-sqlite3'
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

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type TransactionBody = (db: Db, ...args: any[]) => unknown
const transactions = new WeakMap<Db, Map<TransactionBody, Transaction<TransactionBody>>>()

/**
 * db.transaction(fn), built once per connection: building one (four wrappers, each given
 * properties) costs ~30 µs, more than a small transaction takes to run. `fn` is a module-level
 * function (it is the key) that gets the connection and everything else as arguments.
 */
export function preparedTransaction<F extends TransactionBody>(db: Db, fn: F): Transaction<F> {
  let built = transactions.get(db)
  if (!built) transactions.set(db, (built = new Map()))
  let transaction = built.get(fn)
  if (!transaction) built.set(fn, (transaction = db.transaction(fn)))
  return transaction as unknown as Transaction<F>
}
