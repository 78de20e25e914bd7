import type { Clock } from '../clock.js'
import type { Config } from '../config.js'
import { listConnections } from '../db/connections.js'
import type { Db } from '../db/open.js'
import { reconsentDueAt } from '../oauth/refresh-policy.js'
import { asOAuthEntry, readAuthFile } from '../store/auth-json.js'
import { humanDuration } from '../time-format.js'
import type { Output } from './output.js'

/**
 * `latchkey status`: one line per connection from auth.json and the connection records:
 * provider, status, when the access token expires, last refresh, scopes and missing scopes.
 */
export async function statusCommand(deps: { config: Config; db: Db; clock: Clock }, out: Output): Promise<number> {
  const auth = await readAuthFile(deps.config.authFile)
  const records = new Map(listConnections(deps.db).map((c) => [c.provider, c]))
  const ids = [...new Set([...records.keys(), ...Object.keys(auth).filter((k) => asOAuthEntry(auth[k]) && k in deps.config.providers)])].sort()
  if (!ids.length) {
    out.info('No connections yet. Connect one with "latchkey connect <provider>" (see "latchkey providers").')
    return 0
  }
  const now = deps.clock.now()
  for (const id of ids) {
    const entry = asOAuthEntry(auth[id])
    const record = records.get(id)
    // An entry with no record is another tool's: latchkey neither refreshes nor reports it as its own.
    const status = !entry ? 'not in auth file' : (record?.status ?? 'not managed by latchkey (another tool wrote it; not refreshed)')
    const expires = entry?.expires === undefined ? 'no expiry given' : entry.expires > now ? `expires ${humanDuration(entry.expires - now)}` : `expired ${humanDuration(entry.expires - now)}`
    const refreshed = record?.lastRefreshAt ? `, refreshed ${humanDuration(record.lastRefreshAt - now)}` : ''
    const scopes = entry?.scope ?? record?.grantedScopes?.join(' ') ?? ''
    const granted = new Set(record?.grantedScopes ?? [])
    const missing = record?.grantedScopes ? record.requestedScopes.filter((s) => !granted.has(s)) : []
    const dueAt = record && entry ? reconsentDueAt(deps.config.providers[id]?.refreshTokenMaxAgeMs, record.consentedAt, entry) : undefined
    const reconsent = dueAt !== undefined ? `, re-consent due ${humanDuration(dueAt - now)}` : ''
    const failing = record?.status === 'failing' ? ` (${record.failureCount} failed refreshes, last: ${record.lastError ?? 'unknown'})` : ''
    out.info(
      `${id}: ${status}${failing}, ${expires}${refreshed}${scopes ? `, scopes: ${scopes}` : ''}` +
        (missing.length ? `, not granted: ${missing.join(' ')}` : '') +
        reconsent,
    )
  }
  return 0
}
