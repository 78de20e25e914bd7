import { randomBytes } from 'node:crypto'
import { constants, promises as fs } from 'node:fs'
import { basename, dirname, join, resolve } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { AppError } from '../errors.js'
import { preserveCorrupt } from './auth-corrupt.js'
import { AuthJournal, readJournal, type JournalRecord } from './auth-journal.js'
import { holdsAuthLock, withAuthLock } from './auth-lock.js'
import { fsError } from './fs-errors.js'
import { inheritRaw, parseObjectKeepingRaw, stringifyKeepingRaw } from './json-raw.js'

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
  debug?(obj: object, msg: string): void
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
 * A file that does not parse is read again this many times, over about 300 ms, before it is
 * called corrupt: another tool that rewrites it in place (truncate, then write) leaves it
 * briefly empty or half-written.
 */
const CORRUPT_REREADS = [10, 20, 40, 80, 150]

async function readBytes(path: string): Promise<Buffer | undefined> {
  try {
    return await fs.readFile(path)
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    throw fsError(path, err, 'read')
  }
}

function parse(bytes: Buffer): Record<string, unknown> | undefined {
  try {
    return parseObjectKeepingRaw(bytes.toString('utf8'))
  } catch {
    return undefined
  }
}

/** The file as it is on disk (no journal), or AUTH_FILE_CORRUPT after a few re-reads. */
async function readFileOnly(path: string): Promise<AuthFile> {
  let bytes = await readBytes(path)
  for (const delay of [0, ...CORRUPT_REREADS]) {
    if (delay) {
      await sleep(delay)
      bytes = await readBytes(path)
    }
    if (bytes === undefined) return {}
    const parsed = parse(bytes)
    if (parsed) return parsed
  }
  const copy = await preserveCorrupt(path, bytes as Buffer).catch((err: unknown) => {
    throw fsError(`a copy of ${path}`, err, 'write')
  })
  throw new AppError(
    'AUTH_FILE_CORRUPT',
    `${path} is not a valid JSON object, so latchkey will not write to it (a copy is saved at ${copy}). ` +
      'Repair the file by hand, or move it away to start empty, then try again.',
  )
}

/**
 * The file with the journal's records laid over it (auth-journal.ts), in the order they were
 * appended. A record replaces the entry it was made from; one auth.json already holds, or that a
 * later record of the same provider follows, is passed over; the newest one whose entry someone
 * has since replaced otherwise is stale. `changed` says whether auth.json is behind the journal.
 */
function overlay(file: AuthFile, records: JournalRecord[], log?: AuthStoreLog): { content: AuthFile; changed: boolean } {
  if (records.length === 0) return { content: file, changed: false }
  const content: AuthFile = { ...file }
  inheritRaw(content, file)
  let changed = false
  records.forEach((record, i) => {
    const current = asOAuthEntry(content[record.provider])
    if (current && current.refresh === record.entry.refresh && current.access === record.entry.access) return
    if (current && current.refresh !== record.replaces) {
      const newest = !records.slice(i + 1).some((r) => r.provider === record.provider)
      // Expected when another writer replaced the entry since (a reconnect, a hand edit): applied
      // records stay until their room is needed, so this is not worth a warning on every read.
      if (newest) log?.debug?.({ provider: record.provider }, 'a kept token answer is older than the entry in the auth file; the file wins')
      return
    }
    content[record.provider] = record.entry
    changed = true
  })
  return { content, changed }
}

/**
 * Reads auth.json with any new tokens still waiting in the journal applied (and, when this
 * thread does not hold the lock, written to the file now if it can be). A missing file is an
 * empty store; one that stays unparseable over a few re-reads throws AUTH_FILE_CORRUPT (after
 * saving a copy) so that nothing overwrites it. Entries are remembered as read, so a later
 * write keeps the ones it did not change byte for byte.
 */
export async function readAuthFile(path: string, log?: AuthStoreLog): Promise<AuthFile> {
  const file = await readFileOnly(path)
  const records = await readJournal(path)
  if (records.length === 0) return file
  const overlaid = overlay(file, records, log)
  // Usually every record is one auth.json already holds (they stay until their room is needed).
  if (!overlaid.changed) return file
  if (!holdsAuthLock(path)) {
    const applied = await withAuthLock(path, async () => withSession(path, log, async (session) => session.current), { timeoutMs: 2_000 }).catch(() => undefined)
    if (applied) return applied
  }
  return overlaid.content
}

/** Where the bytes go: the target of a symlinked auth.json (followed to the end), else the path. */
async function writeTarget(path: string): Promise<string> {
  let target = path
  for (let hops = 0; hops < 40; hops++) {
    const stat = await fs.lstat(target).catch(() => undefined)
    if (!stat?.isSymbolicLink()) return target
    target = resolve(dirname(target), await fs.readlink(target))
  }
  throw fsError(path, Object.assign(new Error('symlink loop'), { code: 'ELOOP' }), 'write')
}

/**
 * Narrows an existing auth.json that others can read to 0600, with a warning: at daemon start
 * (a file another tool wrote 0644 must not wait for our next write) and before every write.
 */
export async function narrowAuthFileMode(path: string, log?: AuthStoreLog): Promise<void> {
  const current = await fs.stat(path).catch(() => undefined)
  if (!current || (current.mode & 0o077) === 0) return
  log?.warn({ file: path, mode: (current.mode & 0o777).toString(8) }, 'auth file was readable by others; narrowing it to 0600')
  await fs.chmod(path, 0o600).catch((err: unknown) => {
    throw fsError(path, err, 'write')
  })
}

/** The temp files of an auth file's writers: `.<name>.<pid>.<hex>.tmp` in the target's directory. */
export function tempFilePattern(target: string): RegExp {
  return new RegExp(`^\\.${basename(target).replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\.(\\d+)\\.[0-9a-f]+\\.tmp$`)
}

/**
 * Replaces auth.json atomically and durably (oauth-security.md §5): a 0600 temp file in the
 * same directory, write, fsync, rename over the target, fsync the directory. A crash at any
 * point leaves either the old or the new file, never a truncated one. A symlinked auth.json is
 * written through to its target. Members unchanged from `basis` (the content as read) are
 * written back byte for byte. Every failure is AUTH_FILE_UNWRITABLE and leaves the file as it was.
 * `syncDir: false` skips the directory fsync, for a write whose content the fsynced journal
 * already holds: a power cut may then bring back the old file, and the journal re-applies it.
 */
export async function writeAuthFileAtomic(path: string, data: AuthFile, log?: AuthStoreLog, basis?: AuthFile, opts: { syncDir?: boolean } = {}): Promise<void> {
  const target = await writeTarget(path)
  const dir = dirname(target)
  const fail = (err: unknown) => {
    throw fsError(path, err, 'write')
  }
  await fs.mkdir(dir, { recursive: true, mode: 0o700 }).catch(fail)
  await narrowAuthFileMode(target, log)
  const tmp = join(dir, `.${basename(target)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`)
  const handle = await fs.open(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o600).catch(fail)
  try {
    await handle.writeFile(stringifyKeepingRaw(data, basis))
    await handle.sync()
  } catch (err) {
    await handle.close().catch(() => undefined)
    await fs.rm(tmp, { force: true }).catch(() => undefined)
    fail(err)
  }
  await handle.close().catch(fail)
  await fs.rename(tmp, target).catch(async (err: unknown) => {
    await fs.rm(tmp, { force: true }).catch(() => undefined)
    fail(err)
  })
  if (opts.syncDir !== false) await syncDirectory(dir).catch(fail)
}

/** fsyncs a directory (auth.json's target's): makes the last rename in it durable. */
async function syncDirectory(dir: string): Promise<void> {
  const dirHandle = await fs.open(dir, 'r')
  try {
    await dirHandle.sync()
  } finally {
    await dirHandle.close()
  }
}

/** What a locked section of auth.json can do (see withAuthSession). */
export interface AuthSession {
  /** The content: the file with the journal applied. */
  readonly current: AuthFile
  /** Makes room in the journal for one token answer. Call before a token request: it throws AUTH_FILE_UNWRITABLE then, not after. */
  reserve(): Promise<void>
  /**
   * Keeps new tokens for `providerId`: appended to the journal and fsynced first, then written to
   * auth.json. Returns false when auth.json could not be written yet; the tokens are then safe in
   * the journal and applied at the next chance. Throws only when neither could be written.
   */
  keep(providerId: string, entry: OAuthEntry): Promise<boolean>
  /** Replaces the whole file (keys left alone keep their bytes). */
  write(next: AuthFile): Promise<void>
}

async function openSession(path: string, journal: AuthJournal, log?: AuthStoreLog): Promise<AuthSession> {
  const file = await readFileOnly(path)
  const records = await journal.records()
  let { content: current, changed } = overlay(file, records, log)
  let basis = file
  const write = async (next: AuthFile): Promise<void> => {
    await writeAuthFileAtomic(path, next, log, basis)
    current = next
    basis = next
    // The directory fsync above made this content durable, so every record is redundant.
    await journal.clear().catch(() => undefined)
    changed = false
  }
  // Tokens an earlier run kept but could not write: write them now, or keep them waiting.
  if (changed) await write(current).catch((err: unknown) => log?.warn({ file: path, reason: (err as Error).message }, 'kept tokens could not be written to the auth file yet'))
  return {
    get current() {
      return current
    },
    async reserve() {
      // Records auth.json already holds are blanked only when their room is needed, after a
      // directory fsync makes the renames that applied them durable: one fsync per few dozen
      // refreshes instead of one per refresh.
      await journal.reserve(changed ? undefined : async () => syncDirectory(dirname(await writeTarget(path))))
    },
    async keep(providerId, entry) {
      const replaces = asOAuthEntry(current[providerId])?.refresh
      const next: AuthFile = { ...current, [providerId]: entry }
      inheritRaw(next, current)
      let journaled = true
      await journal.append({ provider: providerId, entry: entry as unknown as Record<string, unknown>, ...(replaces !== undefined ? { replaces } : {}) }).catch(() => (journaled = false))
      try {
        if (journaled) {
          // The fsynced record is the durable copy: the file's rename need not be fsynced too.
          await writeAuthFileAtomic(path, next, log, basis, { syncDir: false })
          current = next
          basis = next
        } else await write(next)
        return true
      } catch (err) {
        if (!journaled) throw err
        current = next
        changed = true
        log?.warn({ file: path, provider: providerId, reason: (err as Error).message }, 'new tokens are kept in the journal until the auth file can be written')
        return false
      }
    },
    write,
  }
}

/**
 * Runs `fn` under the cross-process lock with a session on auth.json: the file is read (the
 * journal applied and, if it can be, written), and `fn` may reserve, keep tokens or rewrite.
 */
export async function withAuthSession<T>(path: string, fn: (session: AuthSession) => Promise<T>, log?: AuthStoreLog): Promise<T> {
  return withAuthLock(path, async () => withSession(path, log, fn))
}

/** A session for a section that holds the lock already: the journal stays open until `fn` ends. */
async function withSession<T>(path: string, log: AuthStoreLog | undefined, fn: (session: AuthSession) => Promise<T>): Promise<T> {
  const journal = new AuthJournal(path)
  try {
    return await fn(await openSession(path, journal, log))
  } finally {
    await journal.close()
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
  return withAuthSession(
    path,
    async (session) => {
      const next = await mutate(session.current)
      inheritRaw(next, session.current)
      await session.write(next)
      return next
    },
    log,
  )
}

/** Makes room for a token answer before a code or device exchange (AUTH_FILE_UNWRITABLE or AUTH_FILE_CORRUPT if none). */
export async function reserveForTokens(path: string, log?: AuthStoreLog): Promise<void> {
  await withAuthSession(path, (session) => session.reserve(), log)
}

/** Stores one provider's tokens (journal first), keeping every other key of the file. */
export async function saveOAuthEntry(path: string, providerId: string, entry: OAuthEntry, log?: AuthStoreLog): Promise<boolean> {
  return withAuthSession(path, (session) => session.keep(providerId, entry), log)
}
