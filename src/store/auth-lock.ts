import Database from 'better-sqlite3'
import { mkdirSync } from 'node:fs'
import { dirname } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { AppError } from '../errors.js'

export const AUTH_LOCK_TIMEOUT_MS = 30_000

/** The lock file for an auth file: a SQLite database beside it, holding no data. */
export function authLockPath(authFile: string): string {
  return `${authFile}.lock`
}

/**
 * Runs `fn` while holding the auth-file lock, across threads and processes.
 *
 * The lock is a SQLite write transaction (`BEGIN IMMEDIATE`) on a file beside auth.json: the OS
 * drops it the moment its process dies, so a killed holder never leaves a stale lock behind
 * (unlike mkdir or O_EXCL lock files, which need a staleness guess). Waiters poll with jitter
 * rather than block, since better-sqlite3's busy wait would freeze the event loop.
 */
export async function withAuthLock<T>(
  authFile: string,
  fn: () => Promise<T>,
  opts: { timeoutMs?: number } = {},
): Promise<T> {
  const path = authLockPath(authFile)
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 })
  const lock = new Database(path, { timeout: 0 })
  const deadline = Date.now() + (opts.timeoutMs ?? AUTH_LOCK_TIMEOUT_MS)
  try {
    for (;;) {
      try {
        lock.exec('BEGIN IMMEDIATE')
        break
      } catch (err) {
        if ((err as { code?: string }).code !== 'SQLITE_BUSY') throw err
        if (Date.now() > deadline)
          throw new AppError('LOCK_TIMEOUT', `timed out waiting for the lock on ${authFile}`)
        await sleep(3 + Math.random() * 12)
      }
    }
    try {
      return await fn()
    } finally {
      lock.exec('ROLLBACK')
    }
  } finally {
    lock.close()
  }
}
