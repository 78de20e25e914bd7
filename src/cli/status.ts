import type { Clock } from '../clock.js'
import type { Config } from '../config.js'
import { listConnections, type Connection } from '../db/connections.js'
import type { Db } from '../db/open.js'
import { staleData } from '../integrations/freshness.js'
import { INTEGRATIONS } from '../integrations/index.js'
import type { Integration } from '../integrations/types.js'
import { RECONSENT_REMINDER_MS, reconsentDueAt } from '../oauth/refresh-policy.js'
import { providerName } from '../providers/lookup.js'
import { asOAuthEntry, readAuthFile, type OAuthEntry } from '../store/auth-json.js'
import { humanDuration } from '../time-format.js'
import type { Output } from './output.js'

/** Where a connection stands, as `status --json` names it. */
export type ConnectionState = 'connected' | 'needs_reauth' | 'failing' | 'missing' | 'external'

/** One connection as `latchkey status --json` prints it; times are ISO 8601 UTC or null. */
export interface StatusRow {
  provider: string
  name: string
  state: ConnectionState
  /** The words `status` shows for the state. */
  label: string
  needsAttention: boolean
  expiresAt: string | null
  lastRefreshAt: string | null
  /** Granted scopes: what the provider reported, else what auth.json records. */
  scopes: string[]
  /** Requested but not granted. */
  missingScopes: string[]
  reconsentDueAt: string | null
  failedRefreshes: number
  lastError: string | null
  /** Data that should have arrived and has not (the integration's freshness rule), else null. */
  dataLate: string | null
}

const LABEL: Record<ConnectionState, string> = {
  connected: 'connected',
  needs_reauth: 'needs reconnecting',
  failing: 'refresh failing',
  missing: 'tokens missing from auth.json',
  external: 'written by another tool; latchkey does not refresh it',
}

const MARK: Record<ConnectionState, string> = { connected: '✓', needs_reauth: '✗', failing: '!', missing: '✗', external: '-' }

const iso = (ms: number | null | undefined): string | null => (ms === null || ms === undefined ? null : new Date(ms).toISOString())

/** The status of one connection from its auth.json entry and its record (pure). */
export function statusRow(config: Config, id: string, entry: OAuthEntry | undefined, record: Connection | undefined, now: number): StatusRow {
  // An entry with no record is another tool's: latchkey neither refreshes nor reports it as its own.
  const state: ConnectionState = !entry ? 'missing' : !record ? 'external' : record.status === 'ok' ? 'connected' : record.status
  const granted = record?.grantedScopes ?? (entry?.scope ? entry.scope.split(/[ ,]+/).filter(Boolean) : [])
  const grantedSet = new Set(granted)
  const dueAt = record && entry ? reconsentDueAt(config.providers[id]?.refreshTokenMaxAgeMs, record.consentedAt, entry) : undefined
  const reconsentSoon = dueAt !== undefined && dueAt - now <= RECONSENT_REMINDER_MS
  return {
    provider: id,
    name: providerName(config, id),
    state,
    label: LABEL[state],
    needsAttention: state === 'needs_reauth' || state === 'failing' || state === 'missing' || reconsentSoon,
    expiresAt: iso(entry?.expires),
    lastRefreshAt: iso(record?.lastRefreshAt),
    scopes: granted,
    missingScopes: record?.grantedScopes ? record.requestedScopes.filter((s) => !grantedSet.has(s)) : [],
    reconsentDueAt: iso(dueAt),
    failedRefreshes: record?.failureCount ?? 0,
    lastError: record?.lastError ?? null,
    dataLate: null,
  }
}

/** The lines `status` prints for one row: a heading, then the token, the scopes and what to do. */
function rowLines(row: StatusRow, now: number): string[] {
  const failing = row.state === 'failing' ? ` (${row.failedRefreshes} failed refreshes, last: ${row.lastError ?? 'unknown'})` : ''
  const lines = [`${row.provider}  ${MARK[row.state]} ${row.label}${failing}`]
  if (row.state !== 'missing') {
    const expiresAt = row.expiresAt === null ? undefined : Date.parse(row.expiresAt)
    const token = expiresAt === undefined ? 'no expiry given' : expiresAt > now ? `expires ${humanDuration(expiresAt - now)}` : `expired ${humanDuration(expiresAt - now)}`
    const refreshed = row.lastRefreshAt ? `, refreshed ${humanDuration(Date.parse(row.lastRefreshAt) - now)}` : ''
    lines.push(`  token: ${token}${refreshed}`)
  }
  const notGranted = row.missingScopes.length ? ` (not granted: ${row.missingScopes.join(' ')})` : ''
  lines.push(`  scopes: ${row.scopes.length ? row.scopes.join(' ') : `none reported by ${row.name}`}${notGranted}`)
  if (row.dataLate) lines.push(`  data late: ${row.dataLate}`)
  if (row.reconsentDueAt) lines.push(`  re-consent due ${humanDuration(Date.parse(row.reconsentDueAt) - now)}`)
  if (row.state === 'needs_reauth' || row.state === 'missing') lines.push(`  run: latchkey reconnect ${row.provider}`)
  return lines
}

/**
 * `latchkey status [--json]`: every connection from auth.json and the connection records, with its
 * state, token expiry, last refresh, granted scopes and late data (each integration's freshness
 * rule, judged in `timeZone`). Exit 1 when any connection needs attention; late data alone does not
 * change the exit code (the token is fine: the user has a sensor or an app to look at).
 */
export async function statusCommand(
  deps: { config: Config; db: Db; clock: Clock; integrations?: readonly Integration[] },
  out: Output,
  opts: { json?: boolean; timeZone?: string } = {},
): Promise<number> {
  const auth = await readAuthFile(deps.config.authFile)
  const records = new Map(listConnections(deps.db).map((c) => [c.provider, c]))
  const ids = [...new Set([...records.keys(), ...Object.keys(auth).filter((k) => asOAuthEntry(auth[k]) && k in deps.config.providers)])].sort()
  const now = deps.clock.now()
  const late = new Map(staleData(deps, deps.integrations ?? INTEGRATIONS, now, opts.timeZone ?? Intl.DateTimeFormat().resolvedOptions().timeZone).map((s) => [s.provider, s.text]))
  const rows = ids.map((id) => ({ ...statusRow(deps.config, id, asOAuthEntry(auth[id]), records.get(id), now), dataLate: late.get(id) ?? null }))
  if (opts.json) out.info(JSON.stringify(rows, null, 2))
  else if (!rows.length) out.info('No connections yet. Connect one with "latchkey connect <provider>" (see "latchkey providers").')
  else out.info(rows.flatMap((row) => rowLines(row, now)).join('\n'))
  return rows.some((r) => r.needsAttention) ? 1 : 0
}
