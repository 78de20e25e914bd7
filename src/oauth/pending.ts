import { randomBytes } from 'node:crypto'
import { threadId } from 'node:worker_threads'
import type { Deps } from '../deps.js'
import { expireFlows, getFlowByState, purgeFinishedFlows } from '../db/oauth-flows.js'
import { scrubWal } from '../db/open.js'
import { claimPending, markCodeSent, type PendingCode } from '../db/oauth-pending.js'
import { enqueueOutbox } from '../db/outbox.js'
import { isAppError } from '../errors.js'
import { withStoredCredentials } from '../providers/credentials.js'
import { findProvider, providerName } from '../providers/lookup.js'
import { reserveForTokens, saveOAuthEntry } from '../store/auth-json.js'
import { pollDeviceFlows } from './device.js'
import { finishExchangingFlow, type Outcome } from './finish.js'
import { flowReport } from './report.js'
import { buildTokenRequest } from './requests.js'
import { fetchToken } from './token-client.js'
import { parseTokenResponse } from './token-response.js'

/** A claim older than this belongs to a worker that died; the row may be claimed again. */
export const CLAIM_STALE_MS = 60_000
/** Finished flows are kept this long for `GET /oauth/pending`, then deleted. */
export const FINISHED_FLOW_RETENTION_MS = 24 * 60 * 60 * 1000

export interface ResolveSummary {
  connected: number
  failed: number
  expired: number
  /** States whose status changed, for long-polling readers. */
  changedStates: string[]
}

/** Exchanges one claimed code at most once: the send is recorded and committed before the POST. */
async function exchange(deps: Deps, pending: PendingCode, worker: string): Promise<Outcome | undefined> {
  const flow = getFlowByState(deps.db, pending.state)
  if (!flow || flow.status !== 'exchanging') return undefined
  // A previous worker recorded the send and then died: the code may be spent, so never resend.
  if (pending.codeSentAt !== null) return { status: 'failed', error: 'exchange_interrupted' }
  const configured = findProvider(deps.config, flow.provider)
  if (!configured) return { status: 'failed', error: 'provider_removed' }
  const provider = withStoredCredentials(deps.db, configured)
  // Spend the single-use code only when its tokens can be kept: room in the journal is made
  // now (a full disk, a read-only directory or a corrupt auth.json fail here, before the POST).
  try {
    await reserveForTokens(deps.config.authFile, deps.log)
  } catch (err) {
    deps.log.error({ provider: flow.provider, flowId: flow.id, reason: (err as Error).message }, 'the auth file cannot take tokens; the code was not exchanged')
    return { status: 'failed', error: 'auth_file_unwritable' }
  }
  if (!markCodeSent(deps.db, pending.state, worker, deps.clock.now())) return undefined

  const request = buildTokenRequest(
    provider,
    { grantType: 'authorization_code', code: pending.code, redirectUri: flow.redirectUri, codeVerifier: flow.codeVerifier },
    flow.tokenUrl, // the endpoint fixed when the flow started, never one from the response (A8)
  )
  let raw
  try {
    raw = await fetchToken(deps.http, request)
  } catch (err) {
    if (isAppError(err, 'PROVIDER_BAD_RESPONSE')) {
      deps.log.warn({ provider: flow.provider, flowId: flow.id, reason: err.message }, 'bad token response')
      return { status: 'failed', error: 'bad_response' }
    }
    if (!isAppError(err, 'PROVIDER_UNREACHABLE')) throw err
    deps.log.warn({ provider: flow.provider, flowId: flow.id, reason: err.message }, 'token endpoint unreachable')
    return { status: 'failed', error: 'provider_unreachable' }
  }
  const outcome = parseTokenResponse(provider, raw, deps.clock.now())
  if (outcome.kind === 'oauth_error') {
    deps.log.warn({ provider: flow.provider, flowId: flow.id, status: outcome.status, error: outcome.error }, 'code exchange refused')
    return { status: 'failed', error: outcome.error }
  }
  if (outcome.kind === 'bad_response' && outcome.refreshToken === undefined) {
    deps.log.warn({ provider: flow.provider, flowId: flow.id, status: outcome.status, reason: outcome.reason }, 'bad token response')
    return { status: 'failed', error: 'bad_response' }
  }
  // No usable access token, but a refresh token (issue 9 item 1): the code is spent, so that
  // token is the only way in. It is kept as an expired entry, and the first use refreshes.
  const entry =
    outcome.kind === 'tokens' ? outcome.entry : { type: 'oauth' as const, access: '', refresh: outcome.refreshToken as string, expires: deps.clock.now() }
  if (outcome.kind === 'bad_response')
    deps.log.warn({ provider: flow.provider, flowId: flow.id, status: outcome.status, reason: outcome.reason }, 'token response without a usable access token: its refresh token is kept, the first use refreshes')
  try {
    await saveOAuthEntry(deps.config.authFile, flow.provider, entry, deps.log)
  } catch (err) {
    deps.log.error({ provider: flow.provider, flowId: flow.id, reason: (err as Error).message }, 'could not write the auth file')
    return { status: 'failed', error: 'auth_file_unwritable' }
  }
  deps.log.info({ provider: flow.provider, flowId: flow.id }, 'connected')
  return { status: 'connected', grantedScopes: outcome.kind === 'tokens' ? outcome.grantedScopes : null }
}

/**
 * The resolve-pending job: expires stale flows, claims stored callback codes atomically,
 * exchanges each at the provider's token endpoint, writes auth.json, ends the flow and queues
 * the report. Safe to run in several threads or processes at once.
 */
export async function resolvePending(deps: Deps, worker = `${process.pid}.${threadId}.${randomBytes(4).toString('hex')}`): Promise<ResolveSummary> {
  const summary: ResolveSummary = { connected: 0, failed: 0, expired: 0, changedStates: [] }
  const now = deps.clock.now()

  deps.db.transaction(() => {
    for (const flow of expireFlows(deps.db, now)) {
      enqueueOutbox(deps.db, flowReport(flow, now, providerName(deps.config, flow.provider)))
      summary.expired++
      summary.changedStates.push(flow.state)
    }
  })()
  if (summary.expired > 0) scrubWal(deps.db)

  for (const pending of claimPending(deps.db, worker, now, CLAIM_STALE_MS)) {
    const outcome = await exchange(deps, pending, worker)
    const flow = outcome && getFlowByState(deps.db, pending.state)
    if (!outcome || !flow) continue
    finishExchangingFlow(deps, flow, outcome, deps.clock.now())
    summary[outcome.status]++
    summary.changedStates.push(pending.state)
  }

  // Device flows (RFC 8628) are pending flows too: poll those whose interval has passed.
  for (const state of await pollDeviceFlows(deps)) {
    const status = getFlowByState(deps.db, state)?.status
    if (status === 'connected') summary.connected++
    else if (status === 'expired') summary.expired++
    else summary.failed++
    summary.changedStates.push(state)
  }

  purgeFinishedFlows(deps.db, now - FINISHED_FLOW_RETENTION_MS)
  return summary
}
