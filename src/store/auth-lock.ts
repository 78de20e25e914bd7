import Database from 'better-sqlite3'
import { mkdirSync } from 'node:fs'
import { dirname } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { AppError } from '../errors.js'
import { fsError } from './fs-errors.js'

export const AUTH_LOCK_TIMEOUT_MS = 30_000

/** The lock file for an auth file: a SQLite database beside it, holding no data. */
export function authLockPath(authFile: string): string {
  return `${authFile}.lock`
}

/** Auth files whose lock some code in this thread holds right now (a reader must not wait for it). */
const held = new Map<string, number>()

/** Whether this thread holds the lock on `authFile` at the moment. */
export function holdsAuthLock(authFile: string): boolean {
  return (held.get(authFile) ?? 0) > 0
}

/**
 * Runs `fn` while holding the auth-file lock, across threads and processes.
 *
 * The lock is a SQLite write transaction (`BEGIN IMMEDIATE`) on a file beside auth.json: the OS
 * drops it the moment its process dies, so a killed holder never leaves a stale lock behind
 * (unlike mkdir or O_EXCL lock files, which need a staleness guess). Waiters poll with jitter
 * rather than block, since better-sqlite3's busy wait would freeze the event loop. A lock that
 * cannot be taken for a filesystem reason (full disk, read-only or missing directory) is
 * AUTH_FILE_UNWRITABLE naming the lock file.
 */
export async function withAuthLock<T>(
  authFile: string,
  fn: () => Promise<T>,
  opts: { timeoutMs?: number } = {},
): Promise<T> {
  const path = authLockPath(authFile)
  let lock: Database.Database
  try {
    mkdirSync(dirname(path), { recursive: true, mode: 0o700 })
    lock = new Database(path, { timeout: 0 })
  } catch (err) {
    throw fsError(path, err, 'lock')
  }
  const deadline = Date.now() + (opts.timeoutMs ?? AUTH_LOCK_TIMEOUT_MS)
  try {
    for (;;) {
      try {
        lock.exec('BEGIN IMMEDIATE')
        break
      } catch (err) {
        if ((err as { code?: string }).code !== 'SQLITE_BUSY') throw fsError(path, err, 'lock')
        if (Date.now() > deadline)
          throw new AppError('LOCK_TIMEOUT', `timed out waiting for the lock on ${authFile}`)
        await sleep(3 + Math.random() * 12)
      }
    }
    held.set(authFile, (held.get(authFile) ?? 0) + 1)
    try {
      return await fn()
    } finally {
      held.set(authFile, (held.get(authFile) ?? 1) - 1)
      lock.exec('ROLLBACK')
    }
  } finally {
    lock.close()
  }
}
