// A real OAuth 2.0 / OpenID Connect authorization server for tests, built on oidc-provider.
//
// Behaviour worth knowing (oidc-provider 9.13):
// - Refresh tokens rotate on every use. Presenting an already-rotated refresh token answers
//   invalid_grant ('refresh token already used') and revokes the whole grant, so the newest
//   refresh token and access token die with it. Reusing an authorization code does the same.
// - Scopes are 'openid' and 'offline_access'; `openid` is not required (without it there is no
//   id_token). Stock oidc-provider silently drops `offline_access` unless `prompt=consent` is
//   sent, and then answers a request whose scope ends up empty (e.g. just 'offline_access', or no
//   scope at all) with error=access_denied ('no scope was granted'). To behave like providers
//   that simply grant offline_access, a GET /auth request whose scope includes offline_access and
//   that carries no `prompt` gets `prompt=consent` added (the consent is automatic anyway); an
//   explicit prompt is left alone. Independently, issueRefreshToken below issues a refresh token to
//   every client allowed the refresh_token grant, whatever the scope. A request with no scope at
//   all is still denied with access_denied.
// - Authorization responses (success and error) carry the RFC 9207 `iss` parameter by default.
// - Importing oidc-provider on Node 20 prints 'oidc-provider WARNING: Unsupported runtime' once
//   per process (a top-level console.warn in the package; no option turns it off). Each server
//   also warns about the development-only in-memory adapter and signing keys; both are fine here
//   (every Provider gets its own in-memory store).
/// <reference path="./oidc-provider.d.ts" />
// (The reference makes the hand-written types visible to ts-node, which ignores tsconfig 'include'.)
import { createServer } from 'node:http'
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import Provider, { errors } from 'oidc-provider'
const { InvalidTarget } = errors
import type { ClientEntity, Interaction, KoaContextWithOIDC, ParsedBody } from 'oidc-provider'

export interface OidcClient {
  clientId: string
  clientSecret: string
  redirectUris: string[]
  authMethod: 'client_secret_post' | 'client_secret_basic'
}

export interface TokenRequest {
  grantType: string
  params: Record<string, string | undefined>
  clientId?: string
  usedBasicAuth: boolean
  status: number
  error?: string
  /** The access and refresh tokens this request was answered with, if any. */
  issued: string[]
}

export interface OidcServer {
  issuer: string
  authorizationUrl: string
  tokenUrl: string
  tokenRequests: TokenRequest[]
  /** Bodies of the RFC 7591 registration requests received. */
  registrations: Record<string, unknown>[]
  /** Paths of RFC 7592 DELETEs of registered clients, with the status answered. */
  deletions: { path: string; status: number }[]
  setDecision(d: 'approve' | 'deny'): void
  /**
   * Moves the token endpoint to `path`: /token answers 404 from then on, and the metadata names
   * the new endpoint unless `announce` is false (a server that broke its endpoint without saying).
   */
  moveTokenEndpoint(path: string, opts?: { announce?: boolean }): void
  close(): Promise<void>
}

export interface StartOidcServerOptions {
  clients: OidcClient[]
  pkceRequired?: boolean
  accessTokenTtlSeconds?: number
  /** RFC 7591 dynamic client registration at /reg (open: no initial access token). */
  registration?: boolean
  /** RFC 7592 client management (registration_client_uri + registration_access_token; DELETE removes the client). */
  registrationManagement?: boolean
  /**
   * RFC 8707 resource servers this server issues tokens for: resource URL → scopes. Their access
   * tokens are JWTs whose `aud` is the resource, so the resource server can check them itself.
   */
  resources?: Record<string, string>
}

export const ACCOUNT_ID = 'user-1'

const INTERACTION_PREFIX = '/interaction/'

export async function startOidcServer(opts: StartOidcServerOptions): Promise<OidcServer> {
  const pkceRequired = opts.pkceRequired ?? true
  const tokenRequests: TokenRequest[] = []
  const registrations: Record<string, unknown>[] = []
  const deletions: { path: string; status: number }[] = []
  const resources = opts.resources ?? {}
  let decision: 'approve' | 'deny' = 'approve'
  let movedTo: { path: string; announce: boolean } | undefined
  let provider: Provider | undefined
  let handler: ((req: IncomingMessage, res: ServerResponse) => void) | undefined

  const server = createServer((req, res) => {
    if (!provider || !handler) {
      res.statusCode = 503
      res.end('provider not ready')
      return
    }
    if (movedTo) {
      const path = (req.url ?? '').split('?')[0]
      if (path === '/token') {
        res.writeHead(404, { 'content-type': 'text/html' }).end('<h1>Not Found</h1>')
        return
      }
      if (path === movedTo.path) req.url = '/token'
    }
    if (req.url?.startsWith(INTERACTION_PREFIX)) {
      handleInteraction(provider, decision, req, res).catch((err: unknown) => {
        res.statusCode = 500
        res.end(`interaction failed: ${err instanceof Error ? err.message : String(err)}`)
      })
      return
    }
    handler(req, res)
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject)
      resolve()
    })
  })
  const { port } = server.address() as AddressInfo
  const issuer = `http://127.0.0.1:${port}`

  provider = new Provider(issuer, {
    clients: opts.clients.map((c) => ({
      client_id: c.clientId,
      client_secret: c.clientSecret,
      redirect_uris: c.redirectUris,
      response_types: ['code'],
      grant_types: ['authorization_code', 'refresh_token'],
      token_endpoint_auth_method: c.authMethod,
    })),
    pkce: { required: () => pkceRequired },
    ttl: {
      AccessToken: opts.accessTokenTtlSeconds ?? 5,
      AuthorizationCode: 60,
      IdToken: 3600,
      RefreshToken: 3600,
      Grant: 3600,
      Session: 3600,
      Interaction: 600,
    },
    rotateRefreshToken: true,
    issueRefreshToken: async (_ctx: KoaContextWithOIDC, client: ClientEntity) =>
      client.grantTypeAllowed('refresh_token'),
    // Refresh tokens must outlive the provider's browser session even without offline_access.
    expiresWithSession: async () => false,
    features: {
      devInteractions: { enabled: false },
      introspection: { enabled: true },
      revocation: { enabled: true },
      registration: { enabled: opts.registration ?? false },
      registrationManagement: { enabled: opts.registrationManagement ?? false, rotateRegistrationAccessToken: false },
      resourceIndicators: {
        enabled: true,
        // Refreshes and code exchanges name their resource; an unnamed one gets the only resource granted.
        defaultResource: async (_ctx: KoaContextWithOIDC, _client: ClientEntity, oneOf?: string) => oneOf,
        useGrantedResource: async () => true,
        getResourceServerInfo: async (_ctx: KoaContextWithOIDC, resource: string) => {
          const scope = resources[resource]
          if (scope === undefined) throw new InvalidTarget()
          return { scope, audience: resource, accessTokenTTL: opts.accessTokenTtlSeconds ?? 5, accessTokenFormat: 'jwt' }
        },
      },
    },
    interactions: { url: (_ctx: KoaContextWithOIDC, i: Interaction) => `${INTERACTION_PREFIX}${i.uid}` },
    findAccount: async (_ctx: KoaContextWithOIDC, id: string) => ({
      accountId: id,
      claims: async () => ({ sub: id }),
    }),
    cookies: { keys: ['latchkey-test-cookie-key'] },
  })
  // The provider's own 'server_error' events would otherwise be silent.
  provider.on('server_error', (_ctx: unknown, err: unknown) => {
    console.error('oidc-server: server_error', err)
  })

  provider.use(async (ctx, next) => {
    if ((ctx.path === '/.well-known/openid-configuration' || ctx.path === '/.well-known/oauth-authorization-server') && movedTo?.announce) {
      await next()
      ctx.body = { ...(ctx.body as Record<string, unknown>), token_endpoint: `${issuer}${movedTo.path}` }
      return
    }
    if (ctx.path === '/auth' && ctx.method === 'GET') {
      const { scope, prompt } = ctx.query
      if (typeof scope === 'string' && scope.split(' ').includes('offline_access') && prompt === undefined) {
        ctx.query = { ...ctx.query, prompt: 'consent' }
      }
    }
    if (ctx.path.startsWith('/reg/') && ctx.method === 'DELETE') {
      await next()
      deletions.push({ path: ctx.path, status: ctx.status })
      return
    }
    if (ctx.path === '/reg' && ctx.method === 'POST') {
      await next()
      registrations.push({ ...(ctx.oidc?.body ?? {}) })
      return
    }
    if (ctx.path !== '/token' || ctx.method !== 'POST') {
      await next()
      return
    }
    try {
      await next()
    } finally {
      tokenRequests.push(recordTokenRequest(ctx))
    }
  })
  handler = provider.callback()

  return {
    issuer,
    authorizationUrl: `${issuer}/auth`,
    tokenUrl: `${issuer}/token`,
    tokenRequests,
    registrations,
    deletions,
    setDecision(d) {
      decision = d
    },
    moveTokenEndpoint(path, opts = {}) {
      movedTo = { path, announce: opts.announce ?? true }
    },
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()))
        server.closeAllConnections()
      }),
  }
}

function recordTokenRequest(ctx: KoaContextWithOIDC): TokenRequest {
  const params = flattenBody(ctx.oidc?.body ?? {})
  const authorization = header(ctx, 'authorization')
  const usedBasicAuth = /^basic /i.test(authorization ?? '')
  const clientId = ctx.oidc?.client?.clientId ?? params.client_id ?? (usedBasicAuth ? basicUser(authorization ?? '') : undefined)
  const body = ctx.body
  const error =
    ctx.status >= 400 && typeof body === 'object' && body !== null && 'error' in body && typeof body.error === 'string'
      ? body.error
      : undefined
  const issued =
    typeof body === 'object' && body !== null
      ? (['access_token', 'refresh_token'] as const).flatMap((k) => {
          const v = (body as Record<string, unknown>)[k]
          return typeof v === 'string' ? [v] : []
        })
      : []
  return {
    issued,
    grantType: params.grant_type ?? '',
    params,
    ...(clientId === undefined ? {} : { clientId }),
    usedBasicAuth,
    status: ctx.status,
    ...(error === undefined ? {} : { error }),
  }
}

function flattenBody(body: ParsedBody): Record<string, string | undefined> {
  const out: Record<string, string | undefined> = {}
  for (const [key, value] of Object.entries(body)) {
    out[key] = Array.isArray(value) ? value[0] : value
  }
  return out
}

function header(ctx: KoaContextWithOIDC, name: string): string | undefined {
  const value = ctx.headers[name]
  return Array.isArray(value) ? value[0] : value
}

// RFC 6749 §2.3.1: the Basic user name is the form-urlencoded client_id.
function basicUser(authorization: string): string | undefined {
  const decoded = Buffer.from(authorization.slice('basic '.length).trim(), 'base64').toString('utf8')
  const colon = decoded.indexOf(':')
  if (colon < 0) return undefined
  try {
    return decodeURIComponent(decoded.slice(0, colon).replace(/\+/g, ' '))
  } catch {
    return decoded.slice(0, colon)
  }
}

// Auto-login as ACCOUNT_ID and auto-consent to everything requested, or deny.
async function handleInteraction(
  provider: Provider,
  decision: 'approve' | 'deny',
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  const details = await provider.interactionDetails(req, res)
  if (decision === 'deny') {
    await provider.interactionFinished(
      req,
      res,
      { error: 'access_denied', error_description: 'The user denied the request' },
      { mergeWithLastSubmission: false },
    )
    return
  }
  if (details.prompt.name === 'login') {
    await provider.interactionFinished(req, res, { login: { accountId: ACCOUNT_ID } }, { mergeWithLastSubmission: false })
    return
  }

  const clientId = String(details.params.client_id)
  const accountId = details.session?.accountId ?? ACCOUNT_ID
  const existing = details.grantId ? await provider.Grant.find(details.grantId) : undefined
  const grant = existing ?? new provider.Grant({ accountId, clientId })
  const requested = typeof details.params.scope === 'string' ? details.params.scope.split(' ') : []
  const missing = details.prompt.details.missingOIDCScope ?? []
  const scopes = [...new Set([...requested, ...missing])].filter((s) => s !== '')
  if (scopes.length > 0) grant.addOIDCScope(scopes.join(' '))
  const claims = details.prompt.details.missingOIDCClaims ?? []
  if (claims.length > 0) grant.addOIDCClaims(claims)
  for (const [resource, resourceScopes] of Object.entries(details.prompt.details.missingResourceScopes ?? {})) {
    grant.addResourceScope(resource, resourceScopes.join(' '))
  }
  const grantId = await grant.save()
  await provider.interactionFinished(req, res, { consent: { grantId } }, { mergeWithLastSubmission: true })
}

/**
 * The code exchanges among the token requests. A daemon's refresh job may also refresh the
 * server's 5-second tokens at any moment, so tests about codes count only these.
 */
export function codeExchanges(as: Pick<OidcServer, 'tokenRequests'>): TokenRequest[] {
  return as.tokenRequests.filter((r) => r.grantType === 'authorization_code')
}
