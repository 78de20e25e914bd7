import { z } from 'zod'
import type { Deps } from '../deps.js'
import { consumeWaitingFlow, getFlowByState, insertFlow, type Flow } from '../db/oauth-flows.js'
import { enqueueOutbox } from '../db/outbox.js'
import { AppError, isAppError } from '../errors.js'
import { withStoredCredentials } from '../providers/credentials.js'
import { findProvider, getProvider, providerName, requireClient } from '../providers/lookup.js'
import type { Provider } from '../providers/schema.js'
import { scrubWal } from '../db/open.js'
import { reserveForTokens, saveOAuthEntry } from '../store/auth-json.js'
import { finishExchangingFlow } from './finish.js'
import { randomToken } from './random.js'
import { flowReport } from './report.js'
import { buildTokenRequest, withClientAuth } from './requests.js'
import { fetchToken } from './token-client.js'
import { parseTokenResponse, sanitizeErrorCode, type RawResponse } from './token-response.js'
import { scopesToRequest } from './step-up.js'

/** RFC 8628 §3.2: poll every 5 s unless the server says otherwise; slow_down adds 5 s (§3.5). */
export const DEFAULT_INTERVAL_MS = 5_000
export const SLOW_DOWN_STEP_MS = 5_000
/** A device flow lives as long as its code, but never longer than this. */
const MAX_DEVICE_FLOW_MS = 30 * 60 * 1000

// Google calls it verification_url; expires_in and interval sometimes arrive as strings.
const seconds = z.union([z.number(), z.string().regex(/^\d+$/).transform(Number)]).pipe(z.number().int().positive())
const DeviceAuthorizationSchema = z
  .object({
    device_code: z.string().min(1).max(4096),
    user_code: z.string().min(1).max(64),
    verification_uri: z.string().url().optional(),
    verification_url: z.string().url().optional(),
    verification_uri_complete: z.string().url().optional(),
    expires_in: seconds,
    interval: seconds.optional(),
  })
  .refine((d) => d.verification_uri ?? d.verification_url, { message: 'verification_uri is missing' })

export interface DeviceAuthorization {
  deviceCode: string
  userCode: string
  verificationUri: string
  verificationUriComplete: string | undefined
  expiresInMs: number
  intervalMs: number
}

/** Validates a device authorization response (pure); throws PROVIDER_BAD_RESPONSE. */
export function parseDeviceAuthorization(raw: RawResponse): DeviceAuthorization {
  let body: unknown
  try {
    body = JSON.parse(raw.body)
  } catch {
    body = undefined
  }
  const parsed = DeviceAuthorizationSchema.safeParse(body)
  if (raw.status !== 200 || !parsed.success) {
    const error = (body as { error?: unknown } | undefined)?.error
    throw new AppError('PROVIDER_BAD_RESPONSE', `the device authorization endpoint answered HTTP ${raw.status}${error ? ` (${sanitizeErrorCode(error)})` : ''}`)
  }
  const d = parsed.data
  return {
    deviceCode: d.device_code,
    userCode: d.user_code,
    verificationUri: (d.verification_uri ?? d.verification_url) as string,
    verificationUriComplete: d.verification_uri_complete,
    expiresInMs: d.expires_in * 1000,
    intervalMs: (d.interval ?? DEFAULT_INTERVAL_MS / 1000) * 1000,
  }
}

export interface StartedDeviceFlow {
  flowId: string
  state: string
  provider: string
  userCode: string
  verificationUri: string
  /** The verification URI with the code filled in, when the provider offers one. */
  verificationUriComplete: string | undefined
  expiresAt: number
}

/**
 * Starts an RFC 8628 flow: asks the provider's device endpoint for a user code and stores the
 * flow (an oauth_flows row, so status, expiry and reports work as for a browser flow) and its
 * device code, which the resolve job then polls.
 */
export async function startDeviceFlow(
  deps: Pick<Deps, 'config' | 'db' | 'clock' | 'http'>,
  request: { provider: string; chatId?: number; messageId?: number; scopes?: readonly string[] },
): Promise<StartedDeviceFlow> {
  const found = requireClient(withStoredCredentials(deps.db, getProvider(deps.config, request.provider)))
  const provider = { ...found, scopes: request.scopes ? [...request.scopes] : scopesToRequest(deps.db, found.providerId, found.scopes) }
  if (!provider.deviceAuthorizationUrl)
    throw new AppError('PROVIDER_NOT_CONFIGURED', `${provider.displayName} has no deviceAuthorizationUrl, so it cannot use device mode`)
  const scope: Record<string, string> = provider.scopes.length ? { scope: provider.scopes.join(provider.scopeSeparator) } : {}
  const raw = await fetchToken(deps.http, { url: provider.deviceAuthorizationUrl, ...withClientAuth(provider, scope) })
  const device = parseDeviceAuthorization(raw)
  const now = deps.clock.now()
  const flow = { flowId: randomToken(), state: randomToken(), expiresAt: now + Math.min(device.expiresInMs, MAX_DEVICE_FLOW_MS) }
  deps.db.transaction(() => {
    insertFlow(deps.db, {
      id: flow.flowId,
      state: flow.state,
      provider: provider.providerId,
      exchange: 'daemon',
      redirectUri: '',
      authorizationUrl: device.verificationUri,
      tokenUrl: provider.tokenUrl,
      issuer: provider.issuer ?? null,
      codeVerifier: null,
      requestedScopes: provider.scopes,
      chatId: request.chatId ?? null,
      messageId: request.messageId ?? null,
      createdAt: now,
      expiresAt: flow.expiresAt,
    })
    deps.db
      .prepare('INSERT INTO device_flows (flow_id, device_code, user_code, verification_uri, interval_ms, next_poll_at) VALUES (?, ?, ?, ?, ?, ?)')
      .run(flow.flowId, device.deviceCode, device.userCode, device.verificationUri, device.intervalMs, now + device.intervalMs)
  })()
  return { ...flow, provider: provider.providerId, userCode: device.userCode, verificationUri: device.verificationUri, verificationUriComplete: device.verificationUriComplete }
}

export type DevicePoll =
  | { kind: 'pending' }
  | { kind: 'slow_down' }
  | { kind: 'ended'; status: 'denied' | 'expired' | 'failed'; error: string }
  | { kind: 'tokens'; outcome: Extract<ReturnType<typeof parseTokenResponse>, { kind: 'tokens' }> }

/** Interprets one poll of the token endpoint (pure, RFC 8628 §3.5). */
export function parseDevicePoll(provider: Pick<Provider, 'responseRoot'>, raw: RawResponse, now: number): DevicePoll {
  const outcome = parseTokenResponse(provider, raw, now)
  if (outcome.kind === 'tokens') return { kind: 'tokens', outcome }
  if (outcome.kind === 'bad_response') return { kind: 'ended', status: 'failed', error: 'bad_response' }
  switch (outcome.error) {
    case 'authorization_pending':
      return { kind: 'pending' }
    case 'slow_down':
      return { kind: 'slow_down' }
    case 'access_denied':
      return { kind: 'ended', status: 'denied', error: 'access_denied' }
    case 'expired_token':
      return { kind: 'ended', status: 'expired', error: 'expired' }
    default:
      return { kind: 'ended', status: 'failed', error: outcome.error }
  }
}

interface DeviceRow {
  flow_id: string
  state: string
  device_code: string
  interval_ms: number
  next_poll_at: number
}

/**
 * Polls every device flow whose next poll is due, never faster than its interval (which grows
 * on slow_down). The poll slot is claimed by a compare-and-set on next_poll_at, so two runners
 * never poll the same flow at once. Returns the states whose status changed.
 */
export async function pollDeviceFlows(deps: Deps): Promise<string[]> {
  const now = deps.clock.now()
  // Flows that ended elsewhere (expired by the resolve job) no longer need their device code.
  deps.db.prepare(`DELETE FROM device_flows WHERE flow_id IN (SELECT id FROM oauth_flows WHERE status != 'waiting')`).run()
  const due = deps.db
    .prepare(
      `SELECT d.flow_id, f.state, d.device_code, d.interval_ms, d.next_poll_at FROM device_flows d
       JOIN oauth_flows f ON f.id = d.flow_id WHERE f.status = 'waiting' AND f.expires_at > ? AND d.next_poll_at <= ?`,
    )
    .all(now, now) as DeviceRow[]
  const changed: string[] = []
  for (const row of due) {
    const claimed = deps.db
      .prepare('UPDATE device_flows SET next_poll_at = ? WHERE flow_id = ? AND next_poll_at = ?')
      .run(now + row.interval_ms, row.flow_id, row.next_poll_at).changes
    if (claimed !== 1) continue
    const flow = getFlowByState(deps.db, row.state)
    const configured = flow && findProvider(deps.config, flow.provider)
    if (!flow || !configured) continue
    const provider = withStoredCredentials(deps.db, configured)
    // Poll only when an answer with tokens could be kept: the device code is single-use once it succeeds.
    try {
      await reserveForTokens(deps.config.authFile, deps.log)
    } catch (err) {
      deps.log.warn({ provider: flow.provider, flowId: flow.id, reason: (err as Error).message }, 'device poll skipped: the auth file cannot take tokens')
      continue
    }
    let raw: RawResponse
    try {
      raw = await fetchToken(deps.http, buildTokenRequest(provider, { grantType: 'device_code', deviceCode: row.device_code }, flow.tokenUrl))
    } catch (err) {
      if (!isAppError(err, 'PROVIDER_UNREACHABLE') && !isAppError(err, 'PROVIDER_BAD_RESPONSE')) throw err
      deps.log.warn({ provider: flow.provider, flowId: flow.id }, 'device poll: token endpoint unreachable; retrying at the next interval')
      continue
    }
    const poll = parseDevicePoll(provider, raw, deps.clock.now())
    if (poll.kind === 'pending') continue
    if (poll.kind === 'slow_down') {
      const interval = row.interval_ms + SLOW_DOWN_STEP_MS
      deps.db.prepare('UPDATE device_flows SET interval_ms = ?, next_poll_at = ? WHERE flow_id = ?').run(interval, now + interval, row.flow_id)
      continue
    }
    if (poll.kind === 'ended') {
      endDeviceFlow(deps, flow, poll.status, poll.error)
      deps.log.info({ provider: flow.provider, flowId: flow.id, status: poll.status }, 'device flow ended')
    } else {
      await connectDeviceFlow(deps, flow, poll.outcome)
    }
    changed.push(flow.state)
  }
  return changed
}

function endDeviceFlow(deps: Pick<Deps, 'db' | 'config' | 'clock'>, flow: Flow, status: 'denied' | 'expired' | 'failed', error: string): void {
  const now = deps.clock.now()
  deps.db.transaction(() => {
    deps.db.prepare('DELETE FROM device_flows WHERE flow_id = ?').run(flow.id)
    if (consumeWaitingFlow(deps.db, flow.state, now, { status, error, finished: true }))
      enqueueOutbox(deps.db, flowReport({ ...flow, status, error }, now, providerName(deps.config, flow.provider)))
  })()
  scrubWal(deps.db)
}

async function connectDeviceFlow(deps: Deps, flow: Flow, outcome: Extract<DevicePoll, { kind: 'tokens' }>['outcome']): Promise<void> {
  const now = deps.clock.now()
  // Same end as a browser flow: waiting → exchanging here, then the shared finish.
  deps.db.transaction(() => {
    deps.db.prepare('DELETE FROM device_flows WHERE flow_id = ?').run(flow.id)
    consumeWaitingFlow(deps.db, flow.state, now, { status: 'exchanging' })
  })()
  const exchanging: Flow = { ...flow, status: 'exchanging' }
  try {
    await saveOAuthEntry(deps.config.authFile, flow.provider, outcome.entry, deps.log)
  } catch (err) {
    deps.log.error({ provider: flow.provider, flowId: flow.id, reason: (err as Error).message }, 'could not write the auth file')
    finishExchangingFlow(deps, exchanging, { status: 'failed', error: 'auth_file_unwritable' }, now)
    return
  }
  deps.log.info({ provider: flow.provider, flowId: flow.id }, 'connected (device flow)')
  finishExchangingFlow(deps, exchanging, { status: 'connected', grantedScopes: outcome.grantedScopes }, now)
}
