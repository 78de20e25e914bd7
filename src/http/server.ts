import rateLimit from '@fastify/rate-limit'
import Fastify, { LogController, type FastifyInstance } from 'fastify'
import type { Deps } from '../deps.js'
import { flatLineLogger, requestSummary, type FlatFields } from '../log.js'
import { createNetworkGuard } from './network-guard.js'
import { tailscaleServeGuard } from './tailscale-serve.js'
import { oauthRoutes } from './oauth-routes.js'
import { Broker } from '../broker/broker.js'
import { proxyRoutes } from './proxy-route.js'
import { mcpRoutes } from './mcp-route.js'
import { PAGE_HEADERS, renderPage } from './pages.js'

const HOME_PAGE = renderPage({
  tone: 'info',
  title: 'latchkey is running',
  lines: ['It connects your agent to OAuth providers. Start a connection from the Telegram chat ("connect <provider>") or with "latchkey connect <provider>" in a terminal; the sign-in link it gives you leads here.'],
})
const NOT_FOUND_PAGE = renderPage({
  tone: 'error',
  title: 'Nothing here',
  lines: ['latchkey has no page at this address. Sign-in links come from the Telegram chat or from "latchkey connect" in a terminal.'],
})

/** True when the client asks for HTML: browsers do; curl, got and fetch send a wildcard or JSON. */
export function wantsHtml(accept: string | undefined): boolean {
  return accept !== undefined && /(^|,)\s*text\/html\s*(;|,|$)/i.test(accept)
}

declare module 'fastify' {
  interface FastifyRequest {
    /** What a route adds to its request's one log line: an outcome, its reason, ids (never a secret). */
    logFields: FlatFields | null
  }
}

export interface ServerOptions {
  apiToken: string
  /** How long the callback page waits for the code exchange before answering. Default 8 s. */
  callbackWaitMs?: number
  /** Requests per minute per peer address. Default 300. */
  rateLimitPerMinute?: number
  https?: { key: Buffer; cert: Buffer }
  /** The agent broker behind /proxy (built from deps when not given). */
  broker?: Broker
  /** The bot's username once known (pages of chat flows link back to it). */
  telegramUsername?: () => string | undefined
}

/**
 * Builds the HTTP app; it never listens (the daemon does, tests use inject). Every request is
 * checked against allowedNetworks before any other work; request logs carry the path only,
 * since a callback URL holds the code.
 */
export async function buildServer(deps: Deps, opts: ServerOptions): Promise<FastifyInstance> {
  // Any `req` Fastify itself logs is cut to a summary: a callback URL's query holds the code.
  const log = deps.log.child({}, { serializers: { req: requestSummary } })
  // The request line's fields are flat (logFields' type) and its `req` is summarised in the hook:
  // a logger with no nested redaction paths and no serializer to run.
  const requestLine = flatLineLogger(deps.log)
  const app = Fastify({
    loggerInstance: log,
    ...(opts.https ? { https: opts.https } : {}),
    // Behind tailscale serve every request arrives from loopback; only then are its
    // X-Forwarded-For (the tailnet peer) and identity headers to be believed.
    trustProxy: deps.config.tls.mode === 'tailscale-serve' ? ['127.0.0.1', '::1'] : false,
    bodyLimit: 16 * 1024,
    return503OnClosing: true,
    // fastify logs "incoming request" and "request completed": one line per request instead (onResponse).
    logController: new LogController({ disableRequestLogging: true }),
  }) as unknown as FastifyInstance

  app.decorateRequest('logFields', null)
  // Callback-style hooks: an async one costs a promise per request, on every request.
  app.addHook('onResponse', (request, reply, done) => {
    // pm2 and monitoring poll /healthz, and a proxied request that went through has its audit
    // row (latchkey audit): both at debug, so they do not drown the log. Refusals stay at info.
    const quiet = request.url === '/healthz' || (reply.statusCode < 400 && request.url.startsWith('/proxy/'))
    const level = quiet ? 'debug' : 'info'
    if (requestLine.isLevelEnabled(level)) {
      const ms = Math.round(reply.elapsedTime)
      const req = requestSummary(request)
      // reqId as the request's own logger would bind it (fastify's requestIdLogLabel).
      requestLine[level]({ reqId: request.id, req, statusCode: reply.statusCode, ms, ...request.logFields }, `${req.method} ${req.path} ${reply.statusCode} ${ms} ms`)
    }
    done()
  })

  const allowed = createNetworkGuard(deps.config.allowedNetworks)
  // request.ip is the socket peer, or behind tailscale serve the peer serve reports.
  app.addHook('onRequest', (request, reply, done) => {
    if (allowed(request.ip)) return done()
    request.log.warn({ ip: request.ip }, 'request from outside the allowed networks')
    // Sent from a callback hook, the reply ends the request: done() is not called.
    void reply.code(403).send({ error: 'forbidden', message: 'this address may not use latchkey' })
  })
  if (deps.config.tls.mode === 'tailscale-serve') app.addHook('onRequest', tailscaleServeGuard(deps.config.allowedTailnetUsers))
  await app.register(rateLimit, {
    max: opts.rateLimitPerMinute ?? 300,
    timeWindow: '1 minute',
    // Said as what it is (the plugin sets Retry-After), not as the error handler's bad_request.
    errorResponseBuilder: (_request, context) =>
      Object.assign(new Error(`too many requests: try again in ${context.after}`), { statusCode: context.statusCode, code: context.ban ? 'forbidden' : 'rate_limited' }),
  })

  app.setErrorHandler((err: { statusCode?: number; message: string; code?: string }, request, reply) => {
    const status = err.statusCode && err.statusCode >= 400 && err.statusCode < 500 ? err.statusCode : 500
    if (status >= 500) request.log.error({ code: err.code, message: err.message }, 'request failed')
    // 5xx details stay in the log; a 4xx from fastify itself (bad JSON, too large) is safe to say.
    return reply.code(status).send(status >= 500 ? { error: 'internal', message: 'internal error' } : { error: err.code ?? 'bad_request', message: err.message })
  })
  // A browser gets a page (the address bar is not an API); programs keep their JSON.
  app.setNotFoundHandler((request, reply) => {
    if (!wantsHtml(request.headers.accept)) return reply.code(404).send({ error: 'not_found', message: 'no such route' })
    const home = request.method === 'GET' && request.url.split('?')[0] === '/'
    return reply.code(home ? 200 : 404).headers(PAGE_HEADERS).send(home ? HOME_PAGE : NOT_FOUND_PAGE)
  })

  app.get('/healthz', async () => ({ ok: true }))
  await oauthRoutes(app, deps, {
    apiToken: opts.apiToken,
    callbackWaitMs: opts.callbackWaitMs ?? 8_000,
    ...(opts.telegramUsername ? { telegramUsername: opts.telegramUsername } : {}),
  })
  const broker = opts.broker ?? new Broker(deps)
  await proxyRoutes(app, broker, { apiToken: opts.apiToken })
  await mcpRoutes(app, broker, { apiToken: opts.apiToken })
  // Requests answered while closing queue audit rows: write them before the database goes.
  app.addHook('onClose', async () => broker.flushAudit())
  return app
}
