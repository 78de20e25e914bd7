import { randomBytes } from 'node:crypto'
import { constants, promises as fs } from 'node:fs'
import { basename, dirname, join } from 'node:path'
import { AppError } from '../errors.js'
import { withAuthLock } from './auth-lock.js'
import { parseObjectKeepingRaw, stringifyKeepingRaw } from './json-raw.js'

/** One provider's tokens, in the format other agent tools already read (DESIGN.md). */
export interface OAuthEntry {
  type: 'oauth'
  access: string
  refresh?: string
  /** Epoch ms; absent when the provider did not say (RFC 6749 §5.1 makes expires_in optional). */
  expires?: number
  scope?: string
  tokenType?: string
}

/** The whole file: keyed by provider id; entries we did not write are kept as they are. */
export type AuthFile = Record<string, unknown>

export interface AuthStoreLog {
  warn(obj: object, msg: string): void
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}

/** Narrows `value` to an OAuthEntry when it has the shape latchkey writes. */
export function asOAuthEntry(value: unknown): OAuthEntry | undefined {
  if (!isPlainObject(value) || value.type !== 'oauth' || typeof value.access !== 'string') return undefined
  return value as unknown as OAuthEntry
}

/**
 * Saves the unreadable bytes beside the file (0600) once, and returns the copy's path.
 * A corrupt file is never taken for an empty one: that is how other tools lost every credential.
 */
async function preserveCorrupt(path: string, bytes: Buffer): Promise<string> {
  const dir = dirname(path)
  const prefix = `${basename(path)}.corrupt-`
  for (const name of await fs.readdir(dir)) {
    if (!name.startsWith(prefix)) continue
    const existing = await fs.readFile(join(dir, name)).catch(() => undefined)
    if (existing?.equals(bytes)) return join(dir, name)
  }
  const copy = join(dir, `${prefix}${new Date().toISOString().replace(/[:.]/g, '-')}`)
  await fs.writeFile(copy, bytes, { mode: 0o600, flag: 'wx' })
  return copy
}

/**
 * Reads auth.json. A missing file is an empty store; a file that does not parse as a JSON
 * object throws AUTH_FILE_CORRUPT (after saving a copy) so that nothing overwrites it. Entries
 * are remembered as read, so a later write keeps the ones it did not change byte for byte.
 */
export async function readAuthFile(path: string): Promise<AuthFile> {
  let bytes: Buffer
  try {
    bytes = await fs.readFile(path)
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return {}
    throw err
  }
  let parsed: Record<string, unknown> | undefined
  try {
    parsed = parseObjectKeepingRaw(bytes.toString('utf8'))
  } catch {
    parsed = undefined
  }
  if (!parsed) {
    const copy = await preserveCorrupt(path, bytes)
    throw new AppError(
      'AUTH_FILE_CORRUPT',
      `${path} is not a valid JSON object, so latchkey will not write to it (a copy is saved at ${copy}). ` +
        'Repair the file by hand, or move it away to start empty, then try again.',
    )
  }
  return parsed
}

/** A failed write, named for the user: the file itself is unchanged (the temp file took the hit). */
function unwritable(path: string, err: unknown): AppError {
  const code = (err as NodeJS.ErrnoException).code ?? 'unknown error'
  const why = code === 'ENOSPC' || code === 'EFBIG' || code === 'EDQUOT' ? ': the disk is full or a size limit was hit' : code === 'EACCES' || code === 'EPERM' ? ': permission denied' : ''
  return new AppError('AUTH_FILE_UNWRITABLE', `${path} could not be written (${code}${why}); it is unchanged. Free space or fix its directory, then try again.`)
}

/**
 * Narrows an existing auth.json that others can read to 0600, with a warning: at daemon start
 * (a file another tool wrote 0644 must not wait for our next write) and before every write.
 */
export async function narrowAuthFileMode(path: string, log?: AuthStoreLog): Promise<void> {
  const current = await fs.stat(path).catch(() => undefined)
  if (!current || (current.mode & 0o077) === 0) return
  log?.warn({ file: path, mode: (current.mode & 0o777).toString(8) }, 'auth file was readable by others; narrowing it to 0600')
  await fs.chmod(path, 0o600)
}

/**
 * Replaces auth.json atomically and durably (oauth-security.md §5): a 0600 temp file in the
 * same directory, write, fsync, rename over the target, fsync the directory. A crash at any
 * point leaves either the old or the new file, never a truncated one. Members unchanged from
 * `basis` (the content as read) are written back byte for byte.
 */
export async function writeAuthFileAtomic(path: string, data: AuthFile, log?: AuthStoreLog, basis?: AuthFile): Promise<void> {
  const dir = dirname(path)
  await fs.mkdir(dir, { recursive: true, mode: 0o700 })
  await narrowAuthFileMode(path, log)
  const tmp = join(dir, `.${basename(path)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`)
  const handle = await fs.open(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o600).catch((err: unknown) => {
    throw unwritable(path, err)
  })
  try {
    await handle.writeFile(stringifyKeepingRaw(data, basis))
    await handle.sync()
  } catch (err) {
    await handle.close()
    await fs.rm(tmp, { force: true })
    throw unwritable(path, err)
  }
  await handle.close()
  try {
    await fs.rename(tmp, path)
  } catch (err) {
    await fs.rm(tmp, { force: true })
    throw unwritable(path, err)
  }
  const dirHandle = await fs.open(dir, 'r')
  try {
    await dirHandle.sync()
  } finally {
    await dirHandle.close()
  }
}

/**
 * Read-modify-write of auth.json under the cross-process lock. `mutate` gets the current
 * content and returns the new one; every key it leaves alone is written back unchanged.
 */
export async function updateAuthFile(
  path: string,
  mutate: (current: AuthFile) => AuthFile | Promise<AuthFile>,
  log?: AuthStoreLog,
): Promise<AuthFile> {
  return withAuthLock(path, async () => {
    const current = await readAuthFile(path)
    const next = await mutate(current)
    await writeAuthFileAtomic(path, next, log, current)
    return next
  })
}

/** Stores one provider's tokens, keeping every other key of the file. */
export async function saveOAuthEntry(path: string, providerId: string, entry: OAuthEntry, log?: AuthStoreLog): Promise<void> {
  await updateAuthFile(path, (current) => ({ ...current, [providerId]: entry }), log)
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'
  }
}

/**
 * Removes temp files left by writers that were killed mid-write (their pid is in the name and
 * no longer running). A live writer's temp file is left alone. Returns the removed paths.
 */
export async function removeStaleTempFiles(path: string): Promise<string[]> {
  const dir = dirname(path)
  const pattern = new RegExp(`^\\.${basename(path).replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\.(\\d+)\\.[0-9a-f]+\\.tmp$`)
  const removed: string[] = []
  let names: string[]
  try {
    names = await fs.readdir(dir)
  } catch {
    return removed
  }
  for (const name of names) {
    const pid = Number(pattern.exec(name)?.[1])
    if (!pid || processAlive(pid)) continue
    await fs.rm(join(dir, name), { force: true })
    removed.push(join(dir, name))
  }
  return removed
}
