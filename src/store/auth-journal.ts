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

/**
 * Writes to the journal. Every method must run under the auth lock: records are appended in
 * place, and the padding after them is space already allocated, so an append needs no new
 * blocks on a full disk (on ext4, xfs and tmpfs; a copy-on-write filesystem may still refuse).
 */
export class AuthJournal {
  readonly path: string

  constructor(authFile: string) {
    this.path = journalPath(authFile)
  }

  async #open(): Promise<fs.FileHandle> {
    return fs.open(this.path, constants.O_RDWR | constants.O_CREAT, 0o600).catch((err: unknown) => {
      throw fsError(this.path, err, 'write')
    })
  }

  /**
   * Makes sure the next answer fits: the file is grown (with padding, fsynced) to leave
   * JOURNAL_HEADROOM free. Throws AUTH_FILE_UNWRITABLE when it cannot, before any request.
   * `reclaim`, given when auth.json holds every record, is called once the records take
   * RECLAIM_AT (it must make auth.json durable); the records are then blanked to make room.
   */
  async reserve(reclaim?: () => Promise<void>): Promise<void> {
    const handle = await this.#open()
    try {
      const { size } = await handle.stat()
      let end = (await contentOf(handle)).length
      if (reclaim && end >= RECLAIM_AT) {
        await reclaim()
        await handle.write(Buffer.alloc(end, PAD), 0, end, 0)
        end = 0
      }
      const wanted = Math.max(JOURNAL_MIN_SIZE, end + JOURNAL_HEADROOM)
      if (size >= wanted) return
      await handle.write(Buffer.alloc(wanted - size, PAD), 0, wanted - size, size)
      await handle.sync()
    } catch (err) {
      throw fsError(this.path, err, 'write')
    } finally {
      await handle.close()
    }
  }

  /** Appends one record and fsyncs it: from here on the answer survives a kill or a power cut. */
  async append(record: Omit<JournalRecord, 'at'>): Promise<void> {
    const line = Buffer.from(`${JSON.stringify({ ...record, at: Date.now() })}\n`)
    const handle = await this.#open()
    try {
      const end = (await contentOf(handle)).length
      await handle.write(line, 0, line.length, end)
      await handle.datasync()
    } catch (err) {
      throw fsError(this.path, err, 'write')
    } finally {
      await handle.close()
    }
    if (pauseAfterJournalMs > 0) await sleep(pauseAfterJournalMs)
  }

  /**
   * Blanks the records once auth.json durably holds them, keeping the space for the next answer.
   * Not fsynced: a record that comes back after a power cut is recognised as applied or stale.
   */
  async clear(): Promise<void> {
    let handle: fs.FileHandle
    try {
      handle = await fs.open(this.path, constants.O_RDWR)
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return
      throw fsError(this.path, err, 'write')
    }
    try {
      const end = (await contentOf(handle)).length
      if (end > 0) await handle.write(Buffer.alloc(end, PAD), 0, end, 0)
    } catch (err) {
      throw fsError(this.path, err, 'write')
    } finally {
      await handle.close()
    }
  }
}
