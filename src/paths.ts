import { homedir } from 'node:os'
import { join, resolve } from 'node:path'

/** Where each file lives when the config does not say (`~` is $HOME). */
export const DEFAULT_PATHS = {
  config: '~/.config/latchkey/config.json',
  dataDir: '~/.local/share/latchkey',
  authFile: '~/.local/share/agent/auth.json',
} as const

/** The database inside the data directory. */
export const DB_FILE_NAME = 'latchkey.db'

/** An absolute path, with a leading `~` meaning $HOME (or the OS home directory). */
export function expandHome(path: string, env: Record<string, string | undefined>): string {
  const home = env.HOME ?? homedir()
  return resolve(path === '~' ? home : path.startsWith('~/') ? join(home, path.slice(2)) : path)
}

/** The config file's path: $LATCHKEY_CONFIG or the default. */
export function configPathFrom(env: Record<string, string | undefined>): string {
  return expandHome(env.LATCHKEY_CONFIG ?? DEFAULT_PATHS.config, env)
}
