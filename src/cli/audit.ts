import { listAudit } from '../broker/audit.js'
import type { Clock } from '../clock.js'
import type { Db } from '../db/open.js'
import { parseSince } from '../time-format.js'
import type { Output } from './output.js'

export const AUDIT_USAGE = 'usage: latchkey audit [--since 24h|7d|30m|2026-01-31T08:00Z] [--json]'

/**
 * `latchkey audit`: one line (or JSON object) per proxied request since `--since` (default 24 h):
 * time, agent, connection, method, path (no query string), status, durationMs, bytes.
 */
export function auditCommand(deps: { db: Db; clock: Clock }, opts: { since?: string; json?: boolean }, out: Output): number {
  const since = parseSince(opts.since ?? '24h', deps.clock.now())
  if (since === undefined) {
    out.error(AUDIT_USAGE)
    return 2
  }
  const records = listAudit(deps.db, since).map((r) => ({ ...r, time: new Date(r.time).toISOString() }))
  if (opts.json) out.info(JSON.stringify(records, null, 2))
  else if (!records.length) out.info(`no proxied requests since ${new Date(since).toISOString()}`)
  else for (const r of records) out.info(`${r.time}  ${r.agent}  ${r.connection}  ${r.method} ${r.path}  ${r.status}  ${r.durationMs} ms  ${r.bytes} B`)
  return 0
}
