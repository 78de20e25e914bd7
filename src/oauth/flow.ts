import type { Deps } from '../deps.js'
import { insertFlow, type ExchangeMode } from '../db/oauth-flows.js'
import { withStoredCredentials } from '../providers/credentials.js'
import { getProvider, requireClient } from '../providers/lookup.js'
import { randomToken } from './random.js'
import { buildAuthorizationUrl } from './requests.js'
import { scopesToRequest } from './step-up.js'

/** A flow lives this long from creation to callback (oauth-security.md A3: at most 10 minutes). */
export const FLOW_TTL_MS = 10 * 60 * 1000

export interface StartedFlow {
  flowId: string
  state: string
  provider: string
  startUrl: string
  authorizationUrl: string
  expiresAt: number
}

let gotLoading: Promise<unknown> | undefined
/** Starts loading got once per process: an import() per flow is a resolve and a promise each time. */
function preloadGot(): void {
  gotLoading ??= import('got').catch(() => undefined)
}

/**
 * Creates a flow: fresh state and flow id, a PKCE verifier when the provider uses PKCE, the
 * exact redirect URI from config, and the provider's token endpoint fixed in the row (A8).
 * `scopes` replaces the provider's scopes for this flow (a re-consent after insufficient_scope);
 * without it a reconnect keeps the scopes an approved step-up added (scopesToRequest).
 */
export function startFlow(
  deps: Pick<Deps, 'config' | 'db' | 'clock'>,
  request: { provider: string; exchange?: ExchangeMode; chatId?: number; messageId?: number; scopes?: readonly string[] },
): StartedFlow {
  const found = requireClient(withStoredCredentials(deps.db, getProvider(deps.config, request.provider)))
  // A re-consent with more scopes (step-up) asks for its own set; every other flow the
  // provider's, with the step-up scopes the connection already has.
  const provider = { ...found, scopes: request.scopes ? [...request.scopes] : scopesToRequest(deps.db, found.providerId, found.scopes) }
  const now = deps.clock.now()
  const state = randomToken()
  const flowId = randomToken()
  const codeVerifier = provider.usePkce ? randomToken() : null
  const redirectUri = deps.config.redirectUri
  const authorizationUrl = buildAuthorizationUrl(provider, { state, redirectUri, codeVerifier })
  const expiresAt = now + FLOW_TTL_MS
  insertFlow(deps.db, {
    id: flowId,
    state,
    provider: provider.providerId,
    exchange: request.exchange ?? 'daemon',
    redirectUri,
    authorizationUrl,
    tokenUrl: provider.tokenUrl,
    issuer: provider.issuer ?? null,
    codeVerifier,
    requestedScopes: provider.scopes,
    chatId: request.chatId ?? null,
    messageId: request.messageId ?? null,
    createdAt: now,
    expiresAt,
  })
  // The code exchange will need got (~20 MiB resident): load it now, while the user is at the
  // provider, so neither an idle daemon nor the callback's path pays for it.
  preloadGot()
  return {
    flowId,
    state,
    provider: provider.providerId,
    startUrl: `${deps.config.publicUrl}/oauth/start/${flowId}`,
    authorizationUrl,
    expiresAt,
  }
}
