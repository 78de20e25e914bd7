import { Agent as HttpAgent, request as httpRequest, type IncomingMessage, type OutgoingHttpHeaders } from 'node:http'
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https'
import { Transform, type Readable } from 'node:stream'

// Kept-alive sockets to each provider: a proxied call should not pay a TCP (and TLS) handshake.
const agents = { http: new HttpAgent({ keepAlive: true, maxSockets: 64 }), https: new HttpsAgent({ keepAlive: true, maxSockets: 64 }) }

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

export type UpstreamOutcome =
  | { ok: true; response: IncomingMessage }
  | { ok: false; reason: 'unreachable' | 'timeout' | 'body_too_large'; detail: string }

class BodyTooLarge extends Error {}

/**
 * Sends one request with node:http(s), streaming the body both ways; never follows a redirect
 * (a 3xx comes back as it is). Resolves when the response headers arrive or the request fails.
 */
export function sendUpstream(r: UpstreamRequest): Promise<UpstreamOutcome> {
  return new Promise((resolve) => {
    const https = r.url.protocol === 'https:'
    const req = (https ? httpsRequest : httpRequest)(r.url, { method: r.method, headers: r.headers, agent: https ? agents.https : agents.http })
    // Nagle would hold a small request's last segment until the provider ACKs the first.
    req.setNoDelay(true)
    let settled = false
    const settle = (outcome: UpstreamOutcome) => {
      if (settled) return
      settled = true
      clearTimeout(timer)
      resolve(outcome)
    }
    const timer = setTimeout(() => {
      settle({ ok: false, reason: 'timeout', detail: `no answer within ${r.timeoutMs} ms` })
      req.destroy()
    }, r.timeoutMs)
    req.on('response', (response) => settle({ ok: true, response }))
    req.on('error', (err: NodeJS.ErrnoException) => {
      if (err instanceof BodyTooLarge) settle({ ok: false, reason: 'body_too_large', detail: err.message })
      else settle({ ok: false, reason: 'unreachable', detail: err.code ?? 'error' })
    })
    if (r.body === undefined) req.end()
    else if (Buffer.isBuffer(r.body)) req.end(r.body)
    else {
      let seen = 0
      const cap = new Transform({
        transform(chunk: Buffer, _enc, cb) {
          seen += chunk.length
          if (seen > r.maxBodyBytes) {
            req.destroy(new BodyTooLarge(`the request body is over ${r.maxBodyBytes} bytes`))
            cb()
            return
          }
          cb(null, chunk)
        },
      })
      r.body.on('error', () => req.destroy())
      r.body.pipe(cap).pipe(req)
    }
  })
}
