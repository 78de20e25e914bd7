// A small resource API on loopback whose every /api route checks the Bearer token by RFC 7662
// introspection at the oidc-provider that issued it, as a real provider API does. It records every
// request it sees, so tests can assert that a refused proxy request reached nothing.
import { randomUUID } from 'node:crypto'
import { createServer, type IncomingHttpHeaders } from 'node:http'
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js'
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js'
import { listenLoopback, type Teardown } from './deps.js'

export interface SeenRequest {
  method: string
  url: string
  headers: IncomingHttpHeaders
  body: string
}

export interface ResourceApi {
  /** http://127.0.0.1:<port>/api: the apiBaseUrl (the base has a path of its own on purpose). */
  base: string
  origin: string
  seen: SeenRequest[]
  /** Where /api/redirect-out sends callers (another origin). */
  setForeignUrl(url: string): void
}

/**
 * Routes under /api (after the token check): GET /v1/me, POST /v1/echo (the body's length and
 * text), GET /big?bytes=N (N bytes, streamed in 64 KiB chunks), GET /sse (an event stream: two
 * events 50 ms apart), GET /cookie (sets a cookie), GET /redirect-in (302 to /api/v1/me),
 * GET /redirect-out (302 to another origin), GET /hop (answers with hop-by-hop headers), and
 * /mcp: an MCP server of the official SDK (Streamable HTTP with sessions, answers as server-sent
 * events) with one tool, `whoami`.
 */
export async function startResourceApi(t: Teardown, introspection: { url: string; clientId: string; clientSecret: string }): Promise<ResourceApi> {
  const seen: SeenRequest[] = []
  const sessions = new Map<string, StreamableHTTPServerTransport>()
  let foreign = 'http://127.0.0.1:9/'
  const active = async (authorization: string | undefined): Promise<boolean> => {
    const token = /^Bearer (.+)$/.exec(authorization ?? '')?.[1]
    if (!token) return false
    const res = await fetch(introspection.url, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ token, client_id: introspection.clientId, client_secret: introspection.clientSecret }),
    })
    return ((await res.json()) as { active?: boolean }).active === true
  }
  const server = createServer((req, res) => {
    let body = ''
    req.on('data', (c) => (body += c))
    req.on('end', () => {
      void (async () => {
        seen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body })
        const url = new URL(req.url ?? '/', 'http://x')
        if (!(await active(req.headers.authorization))) {
          res.writeHead(401, { 'www-authenticate': 'Bearer error="invalid_token"', 'content-type': 'application/json' })
          res.end(JSON.stringify({ error: 'invalid_token' }))
          return
        }
        const path = url.pathname
        if (path === '/api/mcp') {
          const id = req.headers['mcp-session-id']
          let transport = typeof id === 'string' ? sessions.get(id) : undefined
          if (!transport) {
            const created = new StreamableHTTPServerTransport({ sessionIdGenerator: () => randomUUID(), onsessioninitialized: (sid) => void sessions.set(sid, created) })
            const server = new McpServer({ name: 'resource-mcp', version: '1.0.0' })
            server.registerTool('whoami', { description: 'who the token belongs to', inputSchema: {} }, async () => ({ content: [{ type: 'text', text: 'user-1' }] }))
            await server.connect(created)
            transport = created
          }
          await transport.handleRequest(req, res, body ? JSON.parse(body) : undefined)
          return
        }
        if (path === '/api/v1/me') {
          res.writeHead(200, { 'content-type': 'application/json' })
          res.end(JSON.stringify({ sub: 'user-1', query: url.search }))
        } else if (path === '/api/v1/echo' && req.method === 'POST') {
          res.writeHead(200, { 'content-type': 'application/json' })
          res.end(JSON.stringify({ length: Buffer.byteLength(body), body }))
        } else if (path === '/api/big') {
          const total = Number(url.searchParams.get('bytes') ?? 0)
          res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': total })
          const chunk = Buffer.alloc(64 * 1024, 0x61)
          let sent = 0
          const more = () => {
            while (sent < total) {
              const n = Math.min(chunk.length, total - sent)
              sent += n
              if (!res.write(n === chunk.length ? chunk : chunk.subarray(0, n))) return void res.once('drain', more)
            }
            res.end()
          }
          more()
        } else if (path === '/api/sse') {
          res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' })
          res.write('data: one\n\n')
          setTimeout(() => res.end('data: two\n\n'), 50)
        } else if (path === '/api/cookie') {
          res.writeHead(200, { 'set-cookie': 'session=provider-session; HttpOnly', 'content-type': 'text/plain' })
          res.end('ok')
        } else if (path === '/api/redirect-in') {
          res.writeHead(302, { location: '/api/v1/me?from=redirect' })
          res.end()
        } else if (path === '/api/redirect-out') {
          res.writeHead(302, { location: foreign })
          res.end()
        } else if (path === '/api/hop') {
          res.writeHead(200, { 'content-type': 'text/plain', connection: 'x-secret-hop', 'x-secret-hop': 'hop', 'keep-alive': 'timeout=5', 'proxy-authenticate': 'Basic' })
          res.end('hop')
        } else {
          res.writeHead(404, { 'content-type': 'application/json' })
          res.end(JSON.stringify({ error: 'not_found' }))
        }
      })().catch((err: unknown) => {
        res.writeHead(500)
        res.end(String(err))
      })
    })
  })
  const origin = await listenLoopback(server, t)
  return { base: `${origin}/api`, origin, seen, setForeignUrl: (u) => (foreign = u) }
}
