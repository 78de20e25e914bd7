import type { FastifyInstance, FastifyReply } from 'fastify'
import type { IncomingMessage, ServerResponse } from 'node:http'
import { REPLAYABLE_BODY_BYTES } from '../broker/config.js'
import type { Broker, Forwarded } from '../broker/broker.js'
import { authenticate } from '../broker/caller.js'

/** A JSON error of the contract, written straight to the socket. */
function sendError(res: ServerResponse, status: number, error: string, message: string, extra: Record<string, string> = {}): number {
  const body = JSON.stringify({ error, message })
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(body), 'cache-control': 'no-store', ...extra })
  res.end(body)
  return Buffer.byteLength(body)
}

/** Reads a small body whole, so that it can be sent again after a 401. */
async function readAll(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = []
  for await (const chunk of req) chunks.push(chunk as Buffer)
  return Buffer.concat(chunks)
}

/** Streams the broker's result to the caller and writes the audit row when it is over. */
function deliver(res: ServerResponse, result: Forwarded): void {
  if (result.kind === 'refused') {
    result.done(sendError(res, result.status, result.error, result.message, result.retryAfter ? { 'retry-after': String(result.retryAfter) } : {}))
    return
  }
  res.writeHead(result.status, result.headers)
  // An event stream (MCP's Streamable HTTP) may wait long for its first event: send the headers now.
  if (String(result.headers['content-type'] ?? '').includes('text/event-stream')) res.flushHeaders()
  // pipe, not stream.pipeline: pipeline makes an AbortController (and its DOMException) per
  // call, a third of the proxy's CPU at load. The audit row is written once, however it ends.
  const body = result.body
  let bytes = 0
  let over = false
  const finish = () => {
    if (over) return
    over = true
    result.done(bytes)
  }
  body.on('data', (chunk: Buffer) => {
    bytes += chunk.length
  })
  body.on('error', () => res.destroy())
  res.on('close', () => {
    if (!body.readableEnded) body.destroy() // the caller went away: stop reading from the provider
    finish()
  })
  body.pipe(res)
}

/**
 * `ANY /proxy/<connection>/<path>`: the request goes through the broker with the caller's Bearer
 * token (an agent's or the API token); the body streams both ways. Fastify's body parsing, its
 * per-IP rate limit and its reply pipeline are bypassed: the broker has its own per-agent limit
 * and body cap, and a parsed or buffered body would break streaming (MCP's event streams, downloads).
 */
export async function proxyRoutes(app: FastifyInstance, broker: Broker, opts: { apiToken: string }): Promise<void> {
  await app.register(async (scope) => {
    scope.removeAllContentTypeParsers()
    scope.addContentTypeParser('*', (_request, payload, done) => done(null, payload))
    scope.all('/proxy/*', { config: { rateLimit: false } }, async (request, reply: FastifyReply) => {
      reply.hijack()
      const res = reply.raw
      const raw = request.raw.url ?? ''
      const q = raw.indexOf('?')
      const [pathPart, query] = q < 0 ? [raw, ''] : [raw.slice(0, q), raw.slice(q + 1)]
      const rest = pathPart.slice('/proxy/'.length)
      const slash = rest.indexOf('/')
      const connection = slash < 0 ? rest : rest.slice(0, slash)
      const rawPath = slash < 0 ? '/' : rest.slice(slash)
      const { db, clock, config } = broker.deps
      const caller = authenticate(db, opts.apiToken, request.headers.authorization, clock.now())
      if (!caller) {
        request.raw.resume()
        sendError(res, 401, 'unauthorized', 'a valid Bearer agent token or API token is required', { 'www-authenticate': 'Bearer' })
        return
      }
      const length = request.headers['content-length'] === undefined ? undefined : Number(request.headers['content-length'])
      const chunked = request.headers['transfer-encoding'] !== undefined
      const small = !chunked && length !== undefined && length <= Math.min(REPLAYABLE_BODY_BYTES, config.broker.maxRequestBytes)
      const body = !chunked && !length ? undefined : small ? await readAll(request.raw) : request.raw
      const result = await broker.forward({ caller, connection, method: request.method, rawPath, query, headers: request.headers, body, ...(length === undefined ? {} : { bodyLength: length }) })
      if (result.kind === 'refused') request.raw.resume()
      deliver(res, result)
    })
  })
}
