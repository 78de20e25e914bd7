import { statSync, type BigIntStats } from 'node:fs'
import { readAuthFile, type AuthFile } from './auth-json.js'

/**
 * How old a file's mtime must be, relative to when we read it, before an unchanged stat is
 * trusted. File times come from a coarse clock (a jiffy on ext4, 1–2 s on some filesystems),
 * and a freed inode number can be reused by the next rename: two writes inside one tick could
 * leave an identical (dev, ino, size, mtime). A write after a read begun at T gets an mtime of at
 * least T minus the granularity, so a file last changed more than this before T cannot hide one.
 */
export const RACY_MARGIN_MS = 2_000

/** What identifies one version of the file: device, inode, size, and mtime in nanoseconds. */
export interface FileVersion {
  dev: bigint
  ino: bigint
  size: bigint
  mtimeNs: bigint
}

function versionOf(s: BigIntStats): FileVersion {
  return { dev: s.dev, ino: s.ino, size: s.size, mtimeNs: s.mtimeNs }
}

/**
 * Whether content read as `cached` may be reused for a file that now stats as `current`: the
 * same version, and last changed more than RACY_MARGIN_MS before the read began (`readAtMs`).
 */
export function canReuse(cached: FileVersion, readAtMs: number, current: FileVersion): boolean {
  return (
    cached.dev === current.dev &&
    cached.ino === current.ino &&
    cached.size === current.size &&
    cached.mtimeNs === current.mtimeNs &&
    cached.mtimeNs < BigInt(readAtMs - RACY_MARGIN_MS) * 1_000_000n
  )
}

/**
 * auth.json for a hot read path (getAccessToken): parsed once, then revalidated with one stat
 * per call; any change of device, inode, size or mtime (an atomic replace by any process, an
 * edit in place) is read again. Read-only: writes go through store/auth-json.ts, which readers
 * under the auth lock call directly, never through this cache.
 */
export class AuthFileReader {
  readonly #path: string
  readonly #wallClock: () => number
  #cached: { version: FileVersion; readAtMs: number; data: AuthFile } | undefined

  /** `wallClock` must be the real clock that file times follow (a test clock would break the margin). */
  constructor(path: string, wallClock: () => number = Date.now) {
    this.#path = path
    this.#wallClock = wallClock
  }

  /** The parsed file (shared: do not mutate); {} when it does not exist. Throws as readAuthFile does. */
  async read(): Promise<AuthFile> {
    const readAtMs = this.#wallClock()
    const stat = statSync(this.#path, { bigint: true, throwIfNoEntry: false })
    if (!stat) {
      this.#cached = undefined
      return readAuthFile(this.#path)
    }
    const version = versionOf(stat)
    const cached = this.#cached
    if (cached && canReuse(cached.version, cached.readAtMs, version)) return cached.data
    this.#cached = undefined
    // A replace between the stat and the read caches newer content under an older version:
    // the next stat differs and reads again. Never the other way round.
    const data = await readAuthFile(this.#path)
    this.#cached = { version, readAtMs, data }
    return data
  }
}
