// Dexcom's freshness rule: readings come at most dataDelayMinutes late, so none for 3 h past
// that delay means the sensor, the phone app or its upload has stopped.
import { getConnection } from '../../db/connections.js'
import type { Deps } from '../../deps.js'
import { humanDuration } from '../../time-format.js'
import type { StaleData } from '../types.js'
import { delayText } from './glucose-summary.js'

/** How long past Dexcom's delay no reading may come before the user is told. */
export const DEXCOM_STALE_AFTER_DELAY_MS = 3 * 60 * 60_000

/** The Dexcom provider when it is connected and no reading is newer than its delay + 3 h (since consent when none at all). */
export function dexcomFreshness(deps: Pick<Deps, 'config' | 'db'>, now: number): StaleData[] {
  const { provider, dataDelayMinutes } = deps.config.dexcom
  const connection = getConnection(deps.db, provider)
  if (connection?.status !== 'ok') return []
  const latest = deps.db.prepare('SELECT max(system_time) FROM glucose_readings WHERE provider = ?').pluck().get(provider) as number | null
  const since = latest ?? connection.consentedAt
  if (now - since <= dataDelayMinutes * 60_000 + DEXCOM_STALE_AFTER_DELAY_MS) return []
  const what = latest === null ? `No Dexcom reading has come since connecting (${humanDuration(since - now)})` : `No new Dexcom reading for ${humanDuration(since - now).replace(/ ago$/, '')}`
  return [{ provider, text: `${what}: Dexcom sends readings up to ${delayText(dataDelayMinutes)} late, and this is 3 h past that. Check that the sensor is on and the Dexcom app is running and online.` }]
}
