// The durable copy of new tokens (issue 9): a provider may rotate its refresh token the moment
// it answers, so the answer must be kept before anything else can fail. Space for it is set
// aside before the request goes out; the record is appended and fsynced when the answer
// arrives, and dropped once auth.json holds it. auth.json writes may still fail (disk full,
// read-only, killed): the record then stays here and is applied by the next locked access,
// the daemon's start, or any reader.
import { constants, promises as fs } from 'node:fs'
import { setTimeout as sleep } from 'node:timers/promises'
import { fsError } from './fs-errors.js'

/** One kept answer: the entry to store for `provider`, and the refresh token it replaces. */
export interface JournalRecord {
  provider: string
  entry: Record<string, unknown>
  /** The refresh token the entry replaces (absent for a first connection). */
  replaces?: string
  /** When the answer was kept (epoch ms), for a person reading the file: order is the file's. */
  at: number
}

/** At least this much free room is kept in the journal before each token request. */
export const JOURNAL_HEADROOM = 64 * 1024
/** Applied records are blanked once they take this much (a few dozen answers). */
const RECLAIM_AT = 16 * 1024
/** Never smaller than this, so the first reservation already covers a few failures in a row. */
const JOURNAL_MIN_SIZE = 128 * 1024
const PAD = 0x20 // a space: the file is text, padding included

/** The journal beside an auth file. */
export function journalPath(authFile: string): string {
  return `${authFile}.journal`
}

// Widens the window between "answer kept" and "auth.json written" for the kill tests.
const pauseAfterJournalMs = Number(process.env.LATCHKEY_TEST_PAUSE_AFTER_JOURNAL_MS ?? 0)

/** Offset where the records end: the first line that starts with padding. */
function contentEnd(bytes: Buffer): number {
  if (bytes.length === 0 || bytes[0] === PAD) return 0
  for (let i = bytes.indexOf(0x0a); i >= 0; i = bytes.indexOf(0x0a, i + 1)) {
    if (i + 1 >= bytes.length || bytes[i + 1] === PAD) return i + 1
  }
  return bytes.length
}

/** The records' bytes, without reading the padding (a 4 KiB head usually holds them all). */
async function contentOf(handle: fs.FileHandle): Promise<Buffer> {
  const head = Buffer.alloc(4096)
  const { bytesRead } = await handle.read(head, 0, head.length, 0)
  const end = contentEnd(head.subarray(0, bytesRead))
  if (end < bytesRead || bytesRead < head.length) return head.subarray(0, end)
  const all = await handle.readFile()
  return all.subarray(0, contentEnd(all))
}

function parseRecords(content: Buffer): JournalRecord[] {
  const records: JournalRecord[] = []
  for (const line of content.toString('utf8').split('\n')) {
    try {
      const r = JSON.parse(line) as JournalRecord
      if (typeof r.provider === 'string' && typeof r.entry === 'object' && r.entry !== null) records.push(r)
    } catch {
      // a torn last line (the writer died mid-append): its answer never counted as kept
    }
  }
  return records
}

/**
 * The records, in the order they were appended (under the lock, so file order is the true
 * order, whatever the clocks say): newest last. Reads the records, never the padding after
 * them; a missing journal has none.
 */
export async function readJournal(authFile: string): Promise<JournalRecord[]> {
  let handle: fs.FileHandle
  try {
    handle = await fs.open(journalPath(authFile), constants.O_RDONLY)
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return []
    throw fsError(journalPath(authFile), err, 'read')
  }
  try {
    return parseRecords(await contentOf(handle))
  } finally {
    await handle.close()
  }
}

/** The journal file as one lock section holds it open: where its records end, and its size. */
interface OpenJournal {
  handle: fs.FileHandle
  writable: boolean
  end: number
  size: number
  records: JournalRecord[]
}

const READ_ONLY_CODES = new Set(['EACCES', 'EPERM', 'EROFS'])

/**
 * The journal for one section under the auth lock: opened once, read once, then written in
 * place by reserve, append and clear, and closed by close(). Holding the lock, nothing else
 * writes it, so the offsets read at the start stay true. Records are appended in place, and the
 * padding after them is space already allocated, so an append needs no new blocks on a full
 * disk (on ext4, xfs and tmpfs; a copy-on-write filesystem may still refuse).
 */
export class AuthJournal {
  readonly path: string
  #open: OpenJournal | undefined
  #missing = false

  constructor(authFile: string) {
    this.path = journalPath(authFile)
  }

  /** The records as this section found them, in file order (newest last); none when there is no journal. */
  async records(): Promise<JournalRecord[]> {
    return (await this.#read())?.records ?? []
  }

  /** The journal as open now, opened and read first if it is not; undefined when it does not exist. */
  async #read(): Promise<OpenJournal | undefined> {
    if (this.#open || this.#missing) return this.#open
    let handle: fs.FileHandle
    let writable = true
    try {
      handle = await fs.open(this.path, constants.O_RDWR).catch(async (err: NodeJS.ErrnoException) => {
        // A journal latchkey may not write can still be read (a read-only copy of the files).
        if (!READ_ONLY_CODES.has(err.code ?? '')) throw err
        writable = false
        return fs.open(this.path, constants.O_RDONLY)
      })
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
        this.#missing = true
        return undefined
      }
      throw fsError(this.path, err, 'read')
    }
    try {
      const [content, { size }] = await Promise.all([contentOf(handle), handle.stat()])
      this.#open = { handle, writable, end: content.length, size, records: parseRecords(content) }
      return this.#open
    } catch (err) {
      await handle.close().catch(() => undefined)
      throw fsError(this.path, err, 'read')
    }
  }

  /** The journal open for writing (created when missing). Throws AUTH_FILE_UNWRITABLE when it cannot be. */
  async #writable(): Promise<OpenJournal> {
    const current = await this.#read().catch(() => undefined)
    if (current?.writable) return current
    await this.close()
    const handle = await fs.open(this.path, constants.O_RDWR | constants.O_CREAT, 0o600).catch((err: unknown) => {
      throw fsError(this.path, err, 'write')
    })
    try {
      const [content, { size }] = await Promise.all([contentOf(handle), handle.stat()])
      this.#open = { handle, writable: true, end: content.length, size, records: parseRecords(content) }
      this.#missing = false
      return this.#open
    } catch (err) {
      await handle.close().catch(() => undefined)
      throw fsError(this.path, err, 'write')
    }
  }

  /** Runs a write; after a failure the file is read again before the next one (it may hold part of it). */
  async #write<T>(fn: (open: OpenJournal) => Promise<T>): Promise<T> {
    const open = await this.#writable()
    try {
      return await fn(open)
    } catch (err) {
      await this.close()
      throw fsError(this.path, err, 'write')
    }
  }

  /**
   * Makes sure the next answer fits: the file is grown (with padding, fsynced) to leave
   * JOURNAL_HEADROOM free. Throws AUTH_FILE_UNWRITABLE when it cannot, before any request.
   * `reclaim`, given when auth.json holds every record, is called once the records take
   * RECLAIM_AT (it must make auth.json durable); the records are then blanked to make room.
   */
  async reserve(reclaim?: () => Promise<void>): Promise<void> {
    await this.#write(async (open) => {
      if (reclaim && open.end >= RECLAIM_AT) {
        await reclaim()
        await open.handle.write(Buffer.alloc(open.end, PAD), 0, open.end, 0)
        open.end = 0
      }
      const wanted = Math.max(JOURNAL_MIN_SIZE, open.end + JOURNAL_HEADROOM)
      if (open.size >= wanted) return
      await open.handle.write(Buffer.alloc(wanted - open.size, PAD), 0, wanted - open.size, open.size)
      await open.handle.sync()
      open.size = wanted
    })
  }

  /** Appends one record and fsyncs it: from here on the answer survives a kill or a power cut. */
  async append(record: Omit<JournalRecord, 'at'>): Promise<void> {
    const line = Buffer.from(`${JSON.stringify({ ...record, at: Date.now() })}\n`)
    await this.#write(async (open) => {
      await open.handle.write(line, 0, line.length, open.end)
      await open.handle.datasync()
      open.end += line.length
      open.size = Math.max(open.size, open.end)
    })
    if (pauseAfterJournalMs > 0) await sleep(pauseAfterJournalMs)
  }

  /**
   * Blanks the records once auth.json durably holds them, keeping the space for the next answer.
   * Not fsynced: a record that comes back after a power cut is recognised as applied or stale.
   */
  async clear(): Promise<void> {
    const open = await this.#read()
    if (!open || open.end === 0) return
    await this.#write(async (w) => {
      await w.handle.write(Buffer.alloc(w.end, PAD), 0, w.end, 0)
      w.end = 0
    })
  }

  /** Closes the file (at the end of the lock section). */
  async close(): Promise<void> {
    const open = this.#open
    this.#open = undefined
    await open?.handle.close().catch(() => undefined)
  }
}
