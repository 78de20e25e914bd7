import { randomBytes } from 'node:crypto'
import { promises as fs } from 'node:fs'
import { basename, dirname, join } from 'node:path'

/** Copies of unreadable auth files kept beside it; older ones beyond this are deleted. */
export const MAX_CORRUPT_COPIES = 5

/**
 * Saves the unreadable bytes beside the file (0600) unless a copy with the same bytes exists,
 * keeping at most MAX_CORRUPT_COPIES (each may be full of tokens); returns the copy's path.
 * A corrupt file is never taken for an empty one: that is how other tools lost every credential.
 */
export async function preserveCorrupt(path: string, bytes: Buffer): Promise<string> {
  const dir = dirname(path)
  const prefix = `${basename(path)}.corrupt-`
  const copies = (await fs.readdir(dir)).filter((name) => name.startsWith(prefix)).sort()
  for (const name of copies) {
    const existing = await fs.readFile(join(dir, name)).catch(() => undefined)
    if (existing?.equals(bytes)) return join(dir, name)
  }
  // The names sort by time: drop the oldest to make room.
  for (const name of copies.slice(0, Math.max(0, copies.length - MAX_CORRUPT_COPIES + 1))) await fs.rm(join(dir, name), { force: true })
  const copy = join(dir, `${prefix}${new Date().toISOString().replace(/[:.]/g, '-')}-${randomBytes(3).toString('hex')}`)
  await fs.writeFile(copy, bytes, { mode: 0o600, flag: 'wx' })
  return copy
}
