// The simulator's OAuth side (dexcom-api.md §2, §7): the login/consent pages, single-use short-lived
// codes, the token endpoint with client credentials in the form body, and rotating single-use
// refresh tokens. Served on both /v2/oauth2/* and /v3/oauth2/*.
import { randomBytes, timingSafeEqual } from 'node:crypto'
import { applyFault, inRefreshOutage, type FaultBox } from './faults.js'
import { isSandboxUser } from './generate.js'
import { consentPage, errorPage, loginPage, SIM_PAGE_HEADERS, type LoginParams } from './pages.js'
import { readBody, redirect, sendHtml, sendJson, type SimRequest } from './reply.js'
import type { DexcomSandboxUser, DexcomSimulatorClient, DexcomSimulatorStats, DexcomTokenSet } from './types.js'

export interface OAuthSettings {
  clients: readonly DexcomSimulatorClient[]
  now: () => number
  accessTokenTtlSeconds: number
  refreshTokenTtlSeconds: number
  codeTtlSeconds: number
}

interface CodeGrant {
  clientId: string
  redirectUri: string
  user: DexcomSandboxUser
  expiresAt: number
}

/** Who an access token speaks for. */
export interface AccessGrant {
  clientId: string
  user: DexcomSandboxUser
  expiresAt: number
}

const TOKEN_BODY_LIMIT = 16 * 1024

function secret(): string {
  return randomBytes(32).toString('base64url')
}

function sameSecret(a: string, b: string): boolean {
  const x = Buffer.from(a)
  const y = Buffer.from(b)
  return x.length === y.length && timingSafeEqual(x, y)
}

/**
 * Codes and tokens in memory. A used code or refresh token is deleted at once, so any replay
 * finds nothing and answers invalid_grant.
 */
export class OAuthStore {
  readonly settings: OAuthSettings
  readonly #codes = new Map<string, CodeGrant>()
  readonly #access = new Map<string, AccessGrant>()
  readonly #refresh = new Map<string, AccessGrant>()

  constructor(settings: OAuthSettings) {
    this.settings = settings
  }

  client(clientId: string): DexcomSimulatorClient | undefined {
    return this.settings.clients.find((c) => c.clientId === clientId)
  }

  issueCode(clientId: string, redirectUri: string, user: DexcomSandboxUser): string {
    this.#prune()
    const code = secret()
    this.#codes.set(code, { clientId, redirectUri, user, expiresAt: this.settings.now() + this.settings.codeTtlSeconds * 1000 })
    return code
  }

  issueTokens(clientId: string, user: DexcomSandboxUser): DexcomTokenSet {
    const now = this.settings.now()
    const access = secret()
    const refresh = secret()
    this.#access.set(access, { clientId, user, expiresAt: now + this.settings.accessTokenTtlSeconds * 1000 })
    this.#refresh.set(refresh, { clientId, user, expiresAt: now + this.settings.refreshTokenTtlSeconds * 1000 })
    return { access_token: access, expires_in: this.settings.accessTokenTtlSeconds, token_type: 'Bearer', refresh_token: refresh }
  }

  /** Consumes the code whatever the outcome (RFC 6749 §4.1.2: a code is used once). */
  exchangeCode(clientId: string, code: string, redirectUri: string): DexcomTokenSet | undefined {
    const grant = this.#codes.get(code)
    if (!grant) return undefined
    this.#codes.delete(code)
    if (grant.clientId !== clientId || grant.redirectUri !== redirectUri || grant.expiresAt <= this.settings.now()) return undefined
    return this.issueTokens(clientId, grant.user)
  }

  /** Single-use rotation: the old refresh token dies as soon as it is presented. */
  rotate(clientId: string, refreshToken: string): DexcomTokenSet | undefined {
    const grant = this.#refresh.get(refreshToken)
    if (!grant || grant.clientId !== clientId) return undefined
    this.#refresh.delete(refreshToken)
    if (grant.expiresAt <= this.settings.now()) return undefined
    return this.issueTokens(clientId, grant.user)
  }

  /** The grant behind a bearer token, if it is known and unexpired. */
  authenticate(accessToken: string): AccessGrant | undefined {
    const grant = this.#access.get(accessToken)
    return grant && grant.expiresAt > this.settings.now() ? grant : undefined
  }

  revokeAll(): void {
    this.#codes.clear()
    this.#access.clear()
    this.#refresh.clear()
  }

  #prune(): void {
    const now = this.settings.now()
    for (const [k, v] of this.#codes) if (v.expiresAt <= now) this.#codes.delete(k)
    for (const [k, v] of this.#access) if (v.expiresAt <= now) this.#access.delete(k)
    for (const [k, v] of this.#refresh) if (v.expiresAt <= now) this.#refresh.delete(k)
  }
}

/** GET {v2,v3}/oauth2/login: validate, then the login page, the consent page, or the redirect back. */
export function handleLogin(sim: SimRequest, store: OAuthStore): void {
  const q = sim.url.searchParams
  const action = sim.url.pathname
  const clientId = q.get('client_id') ?? ''
  const redirectUri = q.get('redirect_uri') ?? ''
  const client = store.client(clientId)
  // Without a known client and its registered redirect URI there is nowhere safe to send an error.
  if (!client) return sendHtml(sim.res, 400, errorPage('Unknown or missing client_id.'), SIM_PAGE_HEADERS)
  if (!client.redirectUris.includes(redirectUri)) {
    return sendHtml(sim.res, 400, errorPage('redirect_uri does not match a URI registered for this app.'), SIM_PAGE_HEADERS)
  }
  const state = q.get('state') ?? undefined
  const back = (params: Record<string, string>) => {
    const target = new URL(redirectUri)
    for (const [k, v] of Object.entries(params)) target.searchParams.set(k, v)
    if (state !== undefined) target.searchParams.set('state', state)
    redirect(sim.res, target.href)
  }
  if (q.get('response_type') !== 'code') return back({ error: 'unsupported_response_type' })
  // "offline_access" is "the only acceptable input" (dexcom-api.md §2.1).
  if (q.get('scope') !== 'offline_access') return back({ error: 'invalid_scope' })
  const params: LoginParams = { client_id: clientId, redirect_uri: redirectUri, response_type: 'code', scope: 'offline_access' }
  if (state !== undefined) params.state = state
  const username = q.get('username')
  if (username === null) return sendHtml(sim.res, 200, loginPage(action, params), SIM_PAGE_HEADERS)
  if (!isSandboxUser(username)) return sendHtml(sim.res, 200, loginPage(action, params, 'Choose one of the simulated users.'), SIM_PAGE_HEADERS)
  const approve = q.get('approve')
  if (approve === null) return sendHtml(sim.res, 200, consentPage(action, params, username), SIM_PAGE_HEADERS)
  // Denial format is UNCONFIRMED; RFC 6749 §4.1.2.1 is the safe reading (dexcom-api.md §2.1).
  if (approve !== 'yes') return back({ error: 'access_denied' })
  back({ code: store.issueCode(clientId, redirectUri, username) })
}

type TokenOutcome = { status: number; body: unknown }

function tokenError(status: number, error: string): TokenOutcome {
  return { status, body: { error } }
}

/** POST {v2,v3}/oauth2/token. */
export async function handleToken(sim: SimRequest, store: OAuthStore, faults: FaultBox, stats: DexcomSimulatorStats): Promise<void> {
  stats.tokenRequests++
  const contentType = (sim.req.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase()
  const raw = await readBody(sim.req, TOKEN_BODY_LIMIT)
  if (raw === undefined) return sendJson(sim.res, 413, { error: 'invalid_request' })
  if (contentType !== 'application/x-www-form-urlencoded') return sendJson(sim.res, 400, { error: 'invalid_request' })
  const form = new URLSearchParams(raw)
  const grantType = form.get('grant_type') ?? ''
  sim.grantType = grantType
  const fault = faults.take(['token', grantType === 'refresh_token' ? 'refresh' : 'code'])
  if (fault?.delayMs) await new Promise((resolve) => setTimeout(resolve, fault.delayMs))
  await fault?.hold?.catch(() => {})
  if (fault && fault.status !== undefined && !fault.afterProcessing) return applyFault(sim.res, fault)
  const outcome = tokenOutcome(form, grantType, store, faults, stats)
  if (fault && fault.status !== undefined) return applyFault(sim.res, fault) // afterProcessing: the work is done, the reply is lost
  sendJson(sim.res, outcome.status, outcome.body, { pragma: 'no-cache' })
}

function tokenOutcome(form: URLSearchParams, grantType: string, store: OAuthStore, faults: FaultBox, stats: DexcomSimulatorStats): TokenOutcome {
  for (const key of new Set(form.keys())) {
    if (form.getAll(key).length > 1) return tokenError(400, 'invalid_request') // RFC 6749 §3.2
  }
  // Client credentials travel in the form body only (dexcom-api.md §2.2); HTTP Basic is UNCONFIRMED
  // on Dexcom, so a client relying on it fails here loudly.
  const clientId = form.get('client_id')
  const clientSecret = form.get('client_secret')
  if (!clientId || !clientSecret) return tokenError(401, 'invalid_client')
  const client = store.client(clientId)
  if (!client || !sameSecret(client.clientSecret, clientSecret)) return tokenError(401, 'invalid_client')
  if (!grantType) return tokenError(400, 'invalid_request')
  if (grantType === 'authorization_code') {
    const code = form.get('code')
    const redirectUri = form.get('redirect_uri')
    if (!code || !redirectUri) return tokenError(400, 'invalid_request')
    const tokens = store.exchangeCode(clientId, code, redirectUri)
    if (!tokens) return tokenError(400, 'invalid_grant')
    stats.codeExchanges++
    return { status: 200, body: tokens }
  }
  if (grantType === 'refresh_token') {
    const refreshToken = form.get('refresh_token')
    if (!refreshToken) return tokenError(400, 'invalid_request')
    const outage = faults.refreshOutage
    if (outage && inRefreshOutage(outage, store.settings.now())) {
      // The token is not consumed: the failure is transient, as tidepool found (dexcom-api.md §4).
      return outage.kind === 'invalid_grant' ? tokenError(400, 'invalid_grant') : tokenError(503, 'server_error')
    }
    const tokens = store.rotate(clientId, refreshToken)
    if (!tokens) return tokenError(400, 'invalid_grant')
    stats.refreshes++
    return { status: 200, body: tokens }
  }
  return tokenError(400, 'unsupported_grant_type')
}
