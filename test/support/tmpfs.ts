// A small tmpfs the test mounts (root only) to make a disk full or read-only for real.
import { execFileSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, rmSync, statfsSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Teardown } from './deps.js'

export interface Tmpfs {
  dir: string
  /** Bytes free right now. */
  free(): number
  readOnly(on: boolean): void
}

/** Mounts a tmpfs of `bytes` in a fresh temp directory (unmounted in teardown); undefined with the reason when mounting is impossible. */
export function mountTmpfs(t: Teardown, bytes: number): Tmpfs | string {
  const parent = mkdtempSync(join(tmpdir(), 'latchkey-tmpfs-'))
  const dir = join(parent, 'mnt')
  mkdirSync(dir)
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${bytes},mode=0700`, 'tmpfs', dir], { stdio: 'pipe' })
  } catch (err) {
    rmSync(parent, { recursive: true, force: true })
    return `cannot mount a tmpfs here (${String((err as Error).message).split('\n')[0]}): needs root`
  }
  // One teardown, in this order: a removal first would empty the mount, then fail on it.
  t.teardown(() => {
    execFileSync('umount', ['-l', dir], { stdio: 'pipe' })
    rmSync(parent, { recursive: true, force: true })
  })
  return {
    dir,
    free: () => {
      const s = statfsSync(dir)
      return s.bavail * s.bsize
    },
    readOnly: (on) => void execFileSync('mount', ['-o', `remount,${on ? 'ro' : 'rw'}`, dir], { stdio: 'pipe' }),
  }
}

/**
 * A directory for a kill test: on a tmpfs the test mounts when it can, else a temp directory.
 * A SIGKILL (not a power cut) is what such tests inflict, and the page cache survives it, so a
 * tmpfs shows exactly the states a disk would, without the fsync latency of a shared disk that
 * made hundreds of kills take minutes.
 */
export function killTestDir(t: Teardown & { comment(msg: string): void }, fallback: () => string): string {
  const fs = mountTmpfs(t, 2 * 1024 ** 3)
  if (typeof fs !== 'string') return fs.dir
  t.comment(`${fs}; using a directory on disk`)
  return fallback()
}
