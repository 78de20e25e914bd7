import { EventEmitter } from 'node:events'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { z } from 'zod'
import type { Deps } from '../deps.js'
import { deleteFlow, getFlowById, getFlowByState, isFlowEnded, type Flow } from '../db/oauth-flows.js'
import { takePendingCode } from '../db/oauth-pending.js'
import { isAppError } from '../errors.js'
import { getProvider, providerName } from '../providers/lookup.js'
import { acceptCallbackReading, hasStateCookie, parseCallbackQuery, stateCookieName } from '../oauth/callback.js'
import { prepareUrlConnection } from '../discovery/connect-url.js'
import { startDeviceFlow } from '../oauth/device.js'
import { startFlow } from '../oauth/flow.js'
import { TOKEN_PATTERN } from '../oauth/random.js'
import { missingScopes } from '../oauth/report.js'
import { hasBearer } from './api-auth.js'
import { FLOW_PAGES, INVALID_LINK_PAGE, cachedExpiredPage, cachedFlowPage, originOf, type PageContext } from './flow-pages.js'
import { PAGE_HEADERS, renderPage } from './pages.js'

export interface OAuthRouteOptions {
  apiToken: string
  /** How long the callback page waits for the exchange to finish before answering (ms). */
  callbackWaitMs: number
  /** The bot's username once it is known, for the "Back to Telegram" button. */
  telegramUsername?: () => string | undefined
}

const MAX_WAIT_SECONDS = 60
/**
 * The binding cookie outlives its flow by this much, so that a browser coming back late is told
 * "expired" rather than "not valid". Only that browser is told: anyone else gets the one generic
 * page for unknown, expired and used states (oauth-security.md B1: no oracle).
 */
const EXPIRED_NOTICE_SECONDS = 30 * 60

const StartFlowBodySchema = z
  .object({
    provider: z.string().min(1).max(64).optional(),
    /** Connect by URL (an MCP server or an issuer): the answer's `provider` is the id given to it. */
    url: z.string().min(1).max(2048).optional(),
    exchange: z.enum(['daemon', 'client']).default('daemon'),
    chatId: z.number().int().optional(),
    messageId: z.number().int().optional(),
  })
  .strict()
  .refine((b) => (b.provider === undefined) !== (b.url === undefined), 'expected exactly one of "provider" or "url"')


/**
 * The server is closing: long-polls answer at once with what they have, so that a stop (pm2's
 * SIGINT) is not held up to 60 s by a `?wait=` request and stays inside pm2's kill_timeout.
 */
interface Shutdown {
  closing: boolean
  readonly signal: EventEmitter
}

/**
 * Resolves when `state` changes (an event from the callback or the resolve job), after `ms`,
 * when the caller hangs up or when the server closes; `gone()` then tells the loop to stop.
 */
function flowWatcher(deps: Pick<Deps, 'events'>, reply: FastifyReply, shutdown: Shutdown) {
  let closed = false
  reply.raw.once('close', () => {
    closed = true
  })
  return {
    gone: () => closed || shutdown.closing,
    wait: (state: string, ms: number) =>
      new Promise<void>((resolve) => {
        const done = () => {
          clearTimeout(timer)
          deps.events.off('flow-changed', onChange)
          reply.raw.off('close', done)
          shutdown.signal.off('close', done)
          resolve()
        }
        const onChange = (changed: string) => {
          if (changed === state) done()
        }
        const timer = setTimeout(done, ms)
        deps.events.on('flow-changed', onChange)
        reply.raw.once('close', done)
        shutdown.signal.once('close', done)
      }),
  }
}

function sendHtml(reply: FastifyReply, status: number, html: string): FastifyReply {
  return reply.code(status).headers(PAGE_HEADERS).send(html)
}

function pendingView(flow: Flow): Record<string, unknown> {
  const missing = missingScopes(flow)
  return {
    status: flow.status,
    provider: flow.provider,
    ...(flow.error ? { error: flow.error } : {}),
    ...(flow.status === 'connected' ? { scopes: flow.grantedScopes ?? flow.requestedScopes } : {}),
    ...(missing.length ? { missingScopes: missing } : {}),
    expiresAt: flow.expiresAt,
  }
}

/** The four OAuth routes of the contract (DESIGN.md): start, callback, pending, flows. */
export async function oauthRoutes(app: FastifyInstance, deps: Deps, opts: OAuthRouteOptions): Promise<void> {
  const secure = deps.config.publicUrl.startsWith('https:')
  const name = (id: string) => providerName(deps.config, id)
  const shutdown: Shutdown = { closing: false, signal: new EventEmitter().setMaxListeners(0) }
  app.addHook('preClose', async () => {
    shutdown.closing = true
    shutdown.signal.emit('close')
  })

  const context = (flow: Flow): PageContext => {
    const username = opts.telegramUsername?.()
    return { origin: originOf(flow), provider: flow.provider, name: name(flow.provider), telegramUrl: username ? `https://t.me/${username}` : undefined }
  }
  const isExpired = (flow: Flow, now: number) => flow.status === 'expired' || (flow.status === 'waiting' && flow.expiresAt <= now)
  const expiredPage = (flow: Flow) => cachedExpiredPage(context(flow), Math.round((flow.expiresAt - flow.createdAt) / 60_000))
  /** The start link of a flow that cannot take a browser any more: expired, already used, or unknown. */
  const endedFlowPage = (flow: Flow | undefined, now: number): string => {
    if (!flow) return INVALID_LINK_PAGE
    return isExpired(flow, now) ? expiredPage(flow) : cachedFlowPage('used', context(flow))
  }

  const requireBearer = async (request: FastifyRequest, reply: FastifyReply) => {
    if (!hasBearer(request.headers.authorization, opts.apiToken))
      return reply.code(401).header('www-authenticate', 'Bearer').send({ error: 'unauthorized', message: 'a valid Bearer API token is required' })
  }

  app.post('/oauth/flows', { onRequest: requireBearer }, async (request, reply) => {
    const body = StartFlowBodySchema.safeParse(request.body)
    if (!body.success) {
      const message = body.error.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`).join('; ')
      return reply.code(400).send({ error: 'invalid_request', message })
    }
    try {
      let providerId = body.data.provider
      if (body.data.url !== undefined) {
        const prepared = await prepareUrlConnection(deps, body.data.url)
        if (prepared.kind === 'needs_client')
          return reply.code(409).send({
            error: 'provider_not_configured',
            provider: prepared.provider.providerId,
            message:
              `${prepared.signInHost} offers no dynamic client registration: register an app there with the redirect URI ${deps.config.redirectUri}` +
              `${prepared.registrationPage ? ` (${prepared.registrationPage})` : ''}, then give latchkey its client id in the chat ("connect ${prepared.provider.providerId}")`,
          })
        providerId = prepared.provider.providerId
      }
      const request = { ...body.data, provider: providerId as string }
      if (getProvider(deps.config, request.provider).redirectMode === 'device') {
        // RFC 8628: no redirect; the user opens the verification page and types the code.
        const device = await startDeviceFlow(deps, request)
        deps.log.info({ provider: device.provider, flowId: device.flowId }, 'device flow started')
        return reply.code(201).header('cache-control', 'no-store').send({
          state: device.state,
          flowId: device.flowId,
          provider: device.provider,
          startUrl: device.verificationUriComplete ?? device.verificationUri,
          authorizationUrl: device.verificationUri,
          userCode: device.userCode,
          expiresAt: device.expiresAt,
        })
      }
      const flow = startFlow(deps, request)
      deps.log.info({ provider: flow.provider, flowId: flow.flowId, exchange: body.data.exchange }, 'flow started')
      return reply.code(201).header('cache-control', 'no-store').send({
        state: flow.state,
        flowId: flow.flowId,
        provider: flow.provider,
        startUrl: flow.startUrl,
        authorizationUrl: flow.authorizationUrl,
        expiresAt: flow.expiresAt,
      })
    } catch (err) {
      if (isAppError(err, 'PROVIDER_UNKNOWN')) return reply.code(404).send({ error: 'provider_unknown', message: err.message })
      if (isAppError(err, 'PROVIDER_BAD_RESPONSE') || isAppError(err, 'PROVIDER_UNREACHABLE'))
        return reply.code(502).send({ error: 'provider_error', message: err.message })
      if (isAppError(err, 'DISCOVERY_REFUSED') || isAppError(err, 'DISCOVERY_FAILED'))
        return reply.code(422).send({ error: err.code === 'DISCOVERY_REFUSED' ? 'discovery_refused' : 'discovery_failed', message: err.message })
      if (isAppError(err, 'PROVIDER_NOT_CONFIGURED'))
        return reply.code(409).send({ error: 'provider_not_configured', message: err.message })
      throw err
    }
  })

  app.get<{ Params: { flowId: string } }>('/oauth/start/:flowId', { exposeHeadRoute: false }, async (request, reply) => {
    const { flowId } = request.params
    const flow = TOKEN_PATTERN.test(flowId) ? getFlowById(deps.db, flowId) : undefined
    const now = deps.clock.now()
    if (!flow || flow.status !== 'waiting' || flow.expiresAt <= now) return sendHtml(reply, 400, endedFlowPage(flow, now))
    const maxAge = Math.ceil((flow.expiresAt - now) / 1000) + EXPIRED_NOTICE_SECONDS
    const cookie = `${stateCookieName(flow.state, secure)}=${flow.state}; Path=/; Max-Age=${maxAge}; HttpOnly; SameSite=Lax${secure ? '; Secure' : ''}`
    // The Location is the authorization URL stored with the flow: never one taken from the request (A6).
    return reply.code(302).headers({ 'cache-control': 'no-store', 'referrer-policy': 'no-referrer', 'set-cookie': cookie, location: flow.authorizationUrl }).send()
  })

  app.get('/oauth/callback', { exposeHeadRoute: false }, async (request, reply) => {
    const raw = request.raw.url ?? ''
    const query = raw.includes('?') ? raw.slice(raw.indexOf('?') + 1) : ''
    const parsed = parseCallbackQuery(query)
    if (!parsed.ok) {
      request.logFields = { outcome: 'callback rejected', reason: parsed.reason }
      return sendHtml(reply, 400, INVALID_LINK_PAGE)
    }
    const { result, flow } = acceptCallbackReading(deps, parsed.value, request.headers.cookie, secure)
    if (result.kind === 'rejected') {
      request.logFields = { outcome: 'callback rejected', reason: result.reason }
      if (flow && result.reason === 'cookie_mismatch') return sendHtml(reply, 400, cachedFlowPage('wrongBrowser', context(flow)))
      if (flow && result.reason === 'issuer_mismatch') return sendHtml(reply, 400, cachedFlowPage('wrongIssuer', context(flow)))
      if (flow && isExpired(flow, deps.clock.now()) && hasStateCookie(request.headers.cookie, flow.state, secure))
        return sendHtml(reply, 400, expiredPage(flow))
      return sendHtml(reply, 400, INVALID_LINK_PAGE)
    }
    // The state is spent: drop the cookie that bound it.
    reply.header('set-cookie', `${stateCookieName(parsed.value.state, secure)}=; Path=/; Max-Age=0; HttpOnly; SameSite=Lax${secure ? '; Secure' : ''}`)
    deps.events.emit('flow-changed', parsed.value.state)
    const c = context(result.flow)
    if (result.kind === 'provider_error') {
      request.logFields = { outcome: 'provider returned an error', provider: result.flow.provider, flowId: result.flow.id, error: result.error }
      return sendHtml(reply, 200, renderPage(result.error === 'access_denied' ? FLOW_PAGES.denied(c, result.description) : FLOW_PAGES.failed(c, result.error, result.description)))
    }
    request.logFields = { outcome: 'callback received', provider: result.flow.provider, flowId: result.flow.id }
    deps.events.emit('callback', parsed.value.state)
    if (result.flow.exchange === 'client') return sendHtml(reply, 200, cachedFlowPage('handedOver', c))

    const deadline = Date.now() + opts.callbackWaitMs
    const watcher = flowWatcher(deps, reply, shutdown)
    // As stored a moment ago: the exchange it wakes is asynchronous, so nothing has moved it yet.
    let current: Flow | undefined = result.flow
    while (current && !isFlowEnded(current.status) && Date.now() < deadline && !watcher.gone()) {
      await watcher.wait(current.state, deadline - Date.now())
      current = getFlowByState(deps.db, parsed.value.state)
    }
    if (current?.status === 'connected') return sendHtml(reply, 200, cachedFlowPage('connected', c))
    if (current?.status === 'failed') return sendHtml(reply, 200, renderPage(FLOW_PAGES.failed(c, current.error)))
    return sendHtml(reply, 200, cachedFlowPage('finishing', c))
  })

  // 405 from onRequest, before fastify looks at the body (a form POST would otherwise get 415).
  const methodNotAllowed = async (_request: FastifyRequest, reply: FastifyReply) =>
    reply.code(405).header('allow', 'GET').send({ error: 'method_not_allowed', message: 'use GET' })
  app.route({
    method: ['HEAD', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS'],
    url: '/oauth/callback',
    onRequest: methodNotAllowed,
    handler: methodNotAllowed,
  })

  app.get<{ Params: { state: string }; Querystring: Record<string, unknown> }>(
    '/oauth/pending/:state',
    { onRequest: requireBearer },
    async (request, reply) => {
      reply.header('cache-control', 'no-store')
      const { state } = request.params
      const notFound = () => reply.code(404).send({ error: 'not_found', message: 'no such flow' })
      if (!TOKEN_PATTERN.test(state)) return notFound()
      const waitRaw = request.query.wait
      let waitSeconds = 0
      if (waitRaw !== undefined) {
        if (typeof waitRaw !== 'string' || !/^\d{1,2}$/.test(waitRaw) || Number(waitRaw) > MAX_WAIT_SECONDS)
          return reply.code(400).send({ error: 'invalid_request', message: `"wait" must be a whole number of seconds from 0 to ${MAX_WAIT_SECONDS}` })
        waitSeconds = Number(waitRaw)
      }
      let flow = getFlowByState(deps.db, state)
      if (!flow) return notFound()
      const initial = flow.status
      const deadline = Date.now() + waitSeconds * 1000
      const watcher = flowWatcher(deps, reply, shutdown)
      while (flow && flow.status === initial && !isFlowEnded(flow.status) && Date.now() < deadline && !watcher.gone()) {
        await watcher.wait(state, deadline - Date.now())
        flow = getFlowByState(deps.db, state)
      }
      if (!flow) return notFound()
      if (flow.exchange === 'client' && flow.status === 'exchanging') {
        // Delivered once: the code and the flow are deleted in the same transaction.
        const handoff = deps.db.transaction(() => {
          const code = takePendingCode(deps.db, state)
          deleteFlow(deps.db, state)
          return code
        })()
        if (handoff === undefined) return notFound()
        return reply.send({
          status: 'connected',
          provider: flow.provider,
          code: handoff,
          redirectUri: flow.redirectUri,
          ...(flow.codeVerifier ? { codeVerifier: flow.codeVerifier } : {}),
          tokenUrl: flow.tokenUrl,
        })
      }
      return reply.send(pendingView(flow))
    },
  )
}
