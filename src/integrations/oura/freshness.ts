// Oura's freshness rule: last night's sleep is usually there by mid-morning (oura-api.md §3),
// once the ring has synced with the app; none by noon usually means the app was not opened.
import { getConnection } from '../../db/connections.js'
import type { Deps } from '../../deps.js'
import { localDayHour } from '../../time-format.js'
import type { StaleData } from '../types.js'

/** The local hour from which a missing night counts as late. */
export const OURA_SLEEP_DUE_HOUR = 12

/** Each connected Oura provider with no sleep for last night (today's `day`, in `timeZone`) from noon on. */
export function ouraFreshness(deps: Pick<Deps, 'db'>, providers: readonly string[], now: number, timeZone: string): StaleData[] {
  const { day, hour } = localDayHour(now, timeZone)
  if (hour < OURA_SLEEP_DUE_HOUR) return []
  const has = deps.db.prepare(
    `SELECT 1 FROM oura_documents WHERE provider = ? AND day = ?
       AND (type = 'daily_sleep' OR (type = 'sleep' AND json_extract(doc, '$.type') = 'long_sleep')) LIMIT 1`,
  )
  return providers
    .filter((p) => getConnection(deps.db, p)?.status === 'ok' && has.get(p, day) === undefined)
    .map((provider) => ({
      provider,
      text: `No Oura sleep for last night (${day}) yet, and it is past noon. Oura sends it once the ring has synced with the Oura app: open the app on your phone.`,
    }))
}
