import { readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

/**
 * latchkey's version from its package.json, found by walking up from this file: the same code
 * runs from `src/cli` (tsx) and `dist/src/cli` (built), one directory deeper.
 */
export function packageVersion(): string {
  let dir = dirname(fileURLToPath(import.meta.url))
  for (let i = 0; i < 5; i++, dir = dirname(dir)) {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: string; version?: string }
      if (pkg.name === 'latchkey' && pkg.version) return pkg.version
    } catch {
      // no package.json at this level
    }
  }
  return 'unknown'
}
