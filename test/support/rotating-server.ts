// A strict rotating token endpoint on loopback: every refresh rotates, a refresh token works
// once, and presenting a spent one revokes the whole grant (RFC 9700 §4.14.2), like
// oidc-provider. Unlike oidc-provider it can be told, per request, to misbehave: odd
// expires_in values, huge bodies, HTML, connection resets, slow answers. It records every
// refresh token it issued and when the answer carrying it was completely sent.
import { randomBytes } from 'node:crypto'
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import { listenLoopback, type Teardown } from './deps.js'

export type Fault =
  | { kind: 'expires_in'; value: unknown }
  | { kind: 'huge'; bytes: number }
  | { kind: 'html' }
  | { kind: 'reset' }
  | { kind: 'slow'; ms: number }
  | { kind: 'no_access_token' }

export interface Issued {
  refresh: string
  access: string
  /** When the request arrived and when its answer was fully handed to the socket (ms). */
  receivedAt: number
  sentAt?: number
}

export interface RotatingServer {
  url: string
  tokenUrl: string
  /** Every token request, in order, with what it presented. */
  requests: { grantType: string; refresh?: string; outcome: 'issued' | 'reuse' | 'revoked' | 'bad_code' | 'fault' }[]
  issued: Issued[]
  /** Refresh tokens presented after they were spent (each one revoked the grant). */
  reuses: string[]
  /** The refresh token the grant accepts now, if the grant is alive. */
  live(): string | undefined
  /** Starts a new grant (as a fresh connection would) and returns its first tokens. */
  newGrant(): { access: string; refresh: string }
  /** Faults for the next token requests, one per request, in order. */
  queue(...faults: Fault[]): void
  /** An authorization code that the next code exchange accepts. */
  issueCode(): string
}

const token = (prefix: string) => `${prefix}-${randomBytes(12).toString('base64url')}`

export async function startRotatingServer(t: Teardown, opts: { expiresIn?: number } = {}): Promise<RotatingServer> {
  const requests: RotatingServer['requests'] = []
  const issued: Issued[] = []
  const reuses: string[] = []
  const faults: Fault[] = []
  const codes = new Set<string>()
  const spent = new Set<string>()
  let current: string | undefined

  const answer = (res: ServerResponse, record: Issued | undefined, status: number, type: string, body: string | Buffer, fault: Fault | undefined) => {
    const send = () => {
      res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(body) })
      res.end(body, () => {
        if (record) record.sentAt = Date.now()
      })
    }
    if (fault?.kind === 'slow') setTimeout(send, fault.ms).unref()
    else send()
  }

  const handle = (req: IncomingMessage, res: ServerResponse, form: URLSearchParams) => {
    const grantType = form.get('grant_type') ?? ''
    const fault = faults.shift()
    if (fault?.kind === 'reset') {
      requests.push({ grantType, outcome: 'fault' })
      req.socket.destroy()
      return
    }
    let presented: string | undefined
    if (grantType === 'refresh_token') {
      presented = form.get('refresh_token') ?? ''
      if (presented !== current) {
        const outcome = spent.has(presented) ? 'reuse' : 'revoked'
        if (outcome === 'reuse') {
          reuses.push(presented)
          current = undefined // the whole family dies
        }
        requests.push({ grantType, refresh: presented, outcome })
        answer(res, undefined, 400, 'application/json', JSON.stringify({ error: 'invalid_grant' }), fault)
        return
      }
      spent.add(presented)
    } else if (grantType === 'authorization_code') {
      if (!codes.delete(form.get('code') ?? '')) {
        requests.push({ grantType, outcome: 'bad_code' })
        answer(res, undefined, 400, 'application/json', JSON.stringify({ error: 'invalid_grant' }), fault)
        return
      }
    }
    const record: Issued = { refresh: token('rt'), access: token('at'), receivedAt: Date.now() }
    current = record.refresh
    issued.push(record)
    requests.push({ grantType, ...(presented ? { refresh: presented } : {}), outcome: 'issued' })
    const body: Record<string, unknown> = { access_token: record.access, refresh_token: record.refresh, token_type: 'Bearer', expires_in: opts.expiresIn ?? 3600 }
    if (fault?.kind === 'expires_in') body.expires_in = fault.value
    if (fault?.kind === 'no_access_token') delete body.access_token
    if (fault?.kind === 'html') return answer(res, record, 200, 'text/html', `<html><body>Service temporarily unavailable ${record.refresh}</body></html>`, fault)
    if (fault?.kind === 'huge') {
      // Valid JSON with the tokens first and a huge padding member after them, streamed.
      const head = Buffer.from(`${JSON.stringify(body).slice(0, -1)},"padding":"`)
      res.writeHead(200, { 'content-type': 'application/json' })
      res.write(head)
      const chunk = Buffer.alloc(1 << 20, 0x61)
      let left = fault.bytes
      const pump = () => {
        while (left > 0) {
          left -= chunk.length
          if (!res.write(chunk)) return void res.once('drain', pump)
        }
        res.end('"}', () => void (record.sentAt = Date.now()))
      }
      res.on('error', () => undefined)
      req.socket.on('close', () => (left = 0))
      return pump()
    }
    answer(res, record, 200, 'application/json', JSON.stringify(body), fault)
  }

  const server = createServer((req, res) => {
    let raw = ''
    req.on('data', (c: Buffer) => (raw += c.toString('utf8')))
    req.on('end', () => handle(req, res, new URLSearchParams(raw)))
  })
  const url = await listenLoopback(server, t)
  return {
    url,
    tokenUrl: `${url}/token`,
    requests,
    issued,
    reuses,
    live: () => current,
    newGrant() {
      const record: Issued = { refresh: token('rt'), access: token('at'), receivedAt: Date.now(), sentAt: Date.now() }
      issued.push(record)
      current = record.refresh
      return { access: record.access, refresh: record.refresh }
    },
    queue: (...more) => void faults.push(...more),
    issueCode() {
      const code = token('code')
      codes.add(code)
      return code
    },
  }
}
