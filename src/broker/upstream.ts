import { EventEmitter } from 'node:events'
import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http'
import { Transform, type Readable } from 'node:stream'
import type { Dispatcher } from 'undici'

// Kept-alive connections to each provider, one pool per origin: a proxied call should not pay a
// TCP (and TLS) handshake. undici rather than node:http: about 25 µs less CPU per proxied request
// (bench/proxy.ts). No body timeout: an event stream (MCP) may stay quiet for a long time.
// Loaded at the first proxied request: undici is ~10 MiB resident that an idle daemon, or one
// whose agents never use the proxy, need not hold.
let dispatcher: Promise<Dispatcher> | undefined
const upstreamDispatcher = () => (dispatcher ??= import('undici').then(({ Agent }) => new Agent({ connections: 64, bodyTimeout: 0, headersTimeout: 0 })))

export interface UpstreamRequest {
  url: URL
  method: string
  headers: OutgoingHttpHeaders
  /** A buffered body (replayable), a stream (sent as it arrives), or none. */
  body: Buffer | Readable | undefined
  /** A streamed body longer than this is cut off and the request fails with body_too_large. */
  maxBodyBytes: number
  /** How long to wait for the response headers (the body may then stream for as long as it lasts). */
  timeoutMs: number
}

/** The provider's answer: its body streams (drain or destroy it, so the connection is freed). */
export interface UpstreamResponse {
  statusCode: number
  headers: IncomingHttpHeaders
  body: Readable
}

export type UpstreamOutcome =
  | { ok: true; response: UpstreamResponse }
  | { ok: false; reason: 'unreachable' | 'timeout' | 'body_too_large'; detail: string }

class BodyTooLarge extends Error {}

/** A streamed body, failing with BodyTooLarge past `max` bytes. */
function capped(body: Readable, max: number): Readable {
  let seen = 0
  const cap = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      seen += chunk.length
      if (seen > max) return cb(new BodyTooLarge(`the request body is over ${max} bytes`))
      cb(null, chunk)
    },
  })
  body.on('error', (err) => cap.destroy(err))
  return body.pipe(cap)
}

/**
 * Sends one request, streaming the body both ways; never follows a redirect (a 3xx comes back
 * as it is). Resolves when the response headers arrive or the request fails.
 */
export async function sendUpstream(r: UpstreamRequest): Promise<UpstreamOutcome> {
  const body = r.body === undefined || Buffer.isBuffer(r.body) ? r.body : capped(r.body, r.maxBodyBytes)
  // The whole wait for the headers, connecting and sending included. An EventEmitter is
  // undici's cheapest abort signal (an AbortController per request costs more).
  const abort = new EventEmitter()
  let timedOut = false
  const timer = setTimeout(() => {
    timedOut = true
    abort.emit('abort')
  }, r.timeoutMs)
  try {
    const response = await (await upstreamDispatcher()).request({
      origin: r.url.origin,
      path: `${r.url.pathname}${r.url.search}`,
      method: r.method as Dispatcher.HttpMethod,
      headers: r.headers as Record<string, string | string[]>,
      body: body ?? null,
      signal: abort,
    })
    return { ok: true, response: { statusCode: response.statusCode, headers: response.headers, body: response.body } }
  } catch (err) {
    if (timedOut) return { ok: false, reason: 'timeout', detail: `no answer within ${r.timeoutMs} ms` }
    if (err instanceof BodyTooLarge) return { ok: false, reason: 'body_too_large', detail: err.message }
    // A connection error keeps its errno code (ECONNREFUSED); undici's own errors have UND_ERR_* codes.
    return { ok: false, reason: 'unreachable', detail: (err as NodeJS.ErrnoException).code ?? 'error' }
  } finally {
    clearTimeout(timer)
  }
}
