// Headless Debian chromium driven by playwright-core (which ships no browser of its own).
import { existsSync } from 'node:fs'
import { chromium } from 'playwright-core'
import type { Browser } from 'playwright-core'

export const CHROMIUM_PATH = '/usr/bin/chromium'

/**
 * True when Debian's chromium is installed. Under `.ci/run` (LATCHKEY_REQUIRE_CHROMIUM=1) a
 * missing browser is an error, so the browser leg can never quietly turn into a skip there.
 */
export function chromiumAvailable(env: Record<string, string | undefined> = process.env): boolean {
  if (existsSync(CHROMIUM_PATH)) return true
  if (env.LATCHKEY_REQUIRE_CHROMIUM === '1') throw new Error(`${CHROMIUM_PATH} is missing and LATCHKEY_REQUIRE_CHROMIUM=1: apt-get install -y chromium`)
  return false
}

export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-dev-shm-usage',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  })
}
