import { promises as fs } from 'node:fs'
import { dirname, join } from 'node:path'
import { asOAuthEntry, narrowAuthFileMode, tempFilePattern, withAuthSession, type AuthFile, type AuthStoreLog } from './auth-json.js'
import { inheritRaw, parseObjectKeepingRaw } from './json-raw.js'

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'
  }
}

export interface Recovery {
  /** Temp files of killed writers that were removed. */
  removed: string[]
  /** Providers whose entry was taken from a temp file newer than auth.json. */
  recovered: string[]
}

async function realTarget(path: string): Promise<string> {
  return fs.realpath(path).catch(() => path)
}

/**
 * Start-up recovery, under the lock: applies the journal (opening the session does), then looks
 * at temp files left by writers that were killed (their pid no longer runs). A whole temp file
 * written after auth.json last changed holds what its writer was about to rename: its latchkey
 * entries that differ from the file's are taken over (oldest temp first). Each is then deleted;
 * one that is partial or older holds nothing new. A live writer's temp file is left alone.
 */
export async function recoverAuthFile(path: string, log?: AuthStoreLog): Promise<Recovery> {
  const result: Recovery = { removed: [], recovered: [] }
  const target = await realTarget(path)
  const dir = dirname(target)
  const pattern = tempFilePattern(target)
  let names: string[]
  try {
    names = await fs.readdir(dir)
  } catch {
    return result
  }
  const stale = names.filter((name) => {
    const pid = Number(pattern.exec(name)?.[1])
    return pid > 0 && !processAlive(pid)
  })
  await withAuthSession(
    path,
    async (session) => {
      const fileTime = (await fs.stat(target).catch(() => undefined))?.mtimeMs ?? 0
      const temps = await Promise.all(
        stale.map(async (name) => {
          const file = join(dir, name)
          const stat = await fs.stat(file).catch(() => undefined)
          return { file, mtimeMs: stat?.mtimeMs ?? 0 }
        }),
      )
      let next: AuthFile | undefined
      for (const temp of temps.sort((a, b) => a.mtimeMs - b.mtimeMs)) {
        if (temp.mtimeMs > fileTime) {
          let content: Record<string, unknown> | undefined
          try {
            content = parseObjectKeepingRaw(await fs.readFile(temp.file, 'utf8'))
          } catch {
            content = undefined // cut short by the kill: its writer never got to rename it
          }
          for (const [key, value] of Object.entries(content ?? {})) {
            const base = next ?? session.current
            if (!asOAuthEntry(value) || JSON.stringify(value) === JSON.stringify(base[key])) continue
            next = { ...base, [key]: value }
            inheritRaw(next, session.current)
            result.recovered.push(key)
          }
        }
      }
      if (next) await session.write(next)
      for (const temp of temps) {
        await fs.rm(temp.file, { force: true })
        result.removed.push(temp.file)
      }
    },
    log,
  )
  await narrowAuthFileMode(path, log)
  return result
}
