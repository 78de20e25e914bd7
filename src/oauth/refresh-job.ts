import { claimNotification, getConnection } from '../db/connections.js'
import { getDiscovered } from '../db/discovered.js'
import { rediscoverProviders } from '../discovery/rediscover.js'
import { enqueueNotice } from '../db/outbox.js'
import { isAppError } from '../errors.js'
import { asOAuthEntry, readAuthFile } from '../store/auth-json.js'
import { humanDuration } from '../time-format.js'
import { RECONSENT_REMINDER_MS, reconsentDueAt, refreshMarginMs, shouldRefresh } from './refresh-policy.js'
import { TokenSource, type TokenDeps } from './refresh.js'

export interface RefreshSummary {
  refreshed: string[]
  failing: string[]
  needsReauth: string[]
  reminded: string[]
}

/**
 * The refresh-tokens job: renews every token that expires within its margin (the larger of 5
 * minutes and 10 % of its lifetime), so readers rarely refresh themselves, and reminds the user
 * 3 days before an absolute refresh-token lifetime ends (Spotify, GitHub Apps). Only
 * connections latchkey knows (made by a connect, or adopted by a getAccessToken call) are renewed.
 */
export async function refreshDueTokens(deps: TokenDeps, source = new TokenSource(deps)): Promise<RefreshSummary> {
  const summary: RefreshSummary = { refreshed: [], failing: [], needsReauth: [], reminded: [] }
  // Discovered providers' metadata is checked again before it goes stale.
  await rediscoverProviders(deps)
  const auth = await readAuthFile(deps.config.authFile)
  for (const [id, provider] of Object.entries(deps.config.providers)) {
    const entry = asOAuthEntry(auth[id])
    if (!entry) continue
    const now = deps.clock.now()
    // auth.json is shared with other agent tools: an entry under a catalog id that latchkey never
    // connected (nor was asked for through getAccessToken) is theirs, refreshed with their client.
    const connection = getConnection(deps.db, id)
    if (!connection || connection.status === 'needs_reauth') continue

    const endsAt = reconsentDueAt(provider.refreshTokenMaxAgeMs, connection.consentedAt, entry)
    if (endsAt !== undefined && endsAt - now <= RECONSENT_REMINDER_MS && claimNotification(deps.db, id, 'reconsent_reminded_at', now)) {
      enqueueNotice(deps.db, {
        kind: 'reconsent_due',
        provider: id,
        text: `⏰ ${provider.displayName} access ends ${humanDuration(endsAt - now)}: ${provider.displayName} limits it to a fixed time from consent. Send "connect ${id}" to renew it.`,
        createdAt: now,
      })
      summary.reminded.push(id)
    }

    const margin = refreshMarginMs(entry, connection.lastRefreshAt ?? connection.consentedAt)
    if (!shouldRefresh(entry, now, margin).should) continue
    try {
      const before = entry.access
      const after = await source.getEntry(id, margin)
      if (after.access !== before) summary.refreshed.push(id)
      else summary.failing.push(id)
    } catch (err) {
      if (isAppError(err, 'NEEDS_REAUTH')) summary.needsReauth.push(id)
      else if (isAppError(err, 'PROVIDER_UNREACHABLE') || isAppError(err, 'AUTH_FILE_UNWRITABLE')) {
        summary.failing.push(id)
        // A discovered server may have moved its token endpoint: the next attempt uses fresh metadata.
        if (isAppError(err, 'PROVIDER_UNREACHABLE') && getDiscovered(deps.db, id)) await rediscoverProviders(deps, { only: id })
      } else throw err
    }
  }
  return summary
}
