// A real MCP server on loopback, built with the MCP SDK (Streamable HTTP, stateless), protected as
// mcp-auth.md §1 describes: without a valid token it answers 401 with a `resource_metadata`
// challenge; it serves RFC 9728 metadata naming its authorization server; and it accepts only JWT
// access tokens signed by that server whose audience is this very server (RFC 8707).
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import { listenLoopback } from './deps.js'
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js'
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js'
import { createRemoteJWKSet, jwtVerify } from 'jose'

export interface McpPeer {
  /** http://127.0.0.1:<port>/mcp */
  url: string
  origin: string
  /** Where the RFC 9728 document is served. */
  metadataUrl: string
  /** Each bearer token seen, with whether it was accepted and why not. */
  checks: { ok: boolean; reason?: string }[]
  /** Points the server at its authorization server (known only after both are listening). */
  setIssuer(issuer: string): void
  close(): Promise<void>
}

export interface McpPeerOptions {
  /** Scopes for the challenge and scopes_supported. */
  scopes?: string[]
  /** Overrides the RFC 9728 document's `resource` (a hostile server naming another resource). */
  resourceOverride?: string
  /** Leave `resource_metadata` out of the challenge: clients must use the well-known. */
  bareChallenge?: boolean
  /**
   * A scope beyond `scopes` that the tool `admin` needs: calling it with a token without that
   * scope is answered 403 `insufficient_scope` naming the larger set (MCP step-up, mcp-auth.md §1.9).
   */
  stepUpScope?: string
}

function readBody(req: IncomingMessage): Promise<unknown> {
  return new Promise((resolve, reject) => {
    let body = ''
    req.on('data', (c) => (body += c))
    req.on('end', () => {
      try {
        resolve(body ? JSON.parse(body) : undefined)
      } catch (err) {
        reject(err)
      }
    })
    req.on('error', reject)
  })
}

export async function startMcpServer(opts: McpPeerOptions = {}): Promise<McpPeer> {
  const scopes = opts.scopes ?? ['mcp:tools']
  const checks: McpPeer['checks'] = []
  let issuer = ''
  let jwks: ReturnType<typeof createRemoteJWKSet> | undefined
  let origin = ''
  const url = () => `${origin}/mcp`
  const metadataPath = '/.well-known/oauth-protected-resource/mcp'

  const challenge = (res: ServerResponse, error?: string) => {
    const parts = [
      ...(error ? [`error="${error}"`] : []),
      ...(opts.bareChallenge ? [] : [`resource_metadata="${origin}${metadataPath}"`]),
      `scope="${scopes.join(' ')}"`,
    ]
    res.writeHead(401, { 'www-authenticate': `Bearer ${parts.join(', ')}`, 'content-type': 'application/json' })
    res.end(JSON.stringify({ error: error ?? 'unauthorized' }))
  }

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const path = (req.url ?? '').split('?')[0]
    if (req.method === 'GET' && path === metadataPath) {
      res.writeHead(200, { 'content-type': 'application/json' })
      res.end(JSON.stringify({ resource: opts.resourceOverride ?? url(), authorization_servers: [issuer], scopes_supported: scopes, bearer_methods_supported: ['header'] }))
      return
    }
    if (path !== '/mcp') {
      res.writeHead(404).end()
      return
    }
    const auth = req.headers.authorization ?? ''
    if (!/^Bearer /i.test(auth)) return challenge(res)
    try {
      jwks ??= createRemoteJWKSet(new URL(`${issuer}/jwks`))
      // The audience check is RFC 8707's point: a token issued for another resource is refused here.
      const { payload } = await jwtVerify(auth.slice(7).trim(), jwks, { issuer, audience: url() })
      checks.push({ ok: true })
      const body = await readBody(req)
      const call = body as { method?: string; params?: { name?: string } } | undefined
      const granted = String(payload.scope ?? '').split(' ')
      if (opts.stepUpScope && call?.method === 'tools/call' && call.params?.name === 'admin' && !granted.includes(opts.stepUpScope)) {
        const wanted = [...scopes, opts.stepUpScope].join(' ')
        res.writeHead(403, { 'www-authenticate': `Bearer error="insufficient_scope", scope="${wanted}", resource_metadata="${origin}${metadataPath}", error_description="the admin tool needs ${opts.stepUpScope}"`, 'content-type': 'application/json' })
        res.end(JSON.stringify({ error: 'insufficient_scope' }))
        return
      }
      const server = new McpServer({ name: 'latchkey-test-mcp', version: '1.0.0' })
      server.registerTool('whoami', { description: 'Who the token belongs to' }, async () => ({ content: [{ type: 'text', text: String(payload.sub) }] }))
      server.registerTool('echo', { description: 'Echoes nothing useful' }, async () => ({ content: [{ type: 'text', text: 'echo' }] }))
      if (opts.stepUpScope) server.registerTool('admin', { description: `Needs ${opts.stepUpScope}` }, async () => ({ content: [{ type: 'text', text: `admin for ${String(payload.sub)}` }] }))
      const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined, enableJsonResponse: true })
      res.on('close', () => {
        void transport.close()
        void server.close()
      })
      await server.connect(transport)
      await transport.handleRequest(req, res, body)
    } catch (err) {
      checks.push({ ok: false, reason: (err as { code?: string }).code ?? (err as Error).message })
      challenge(res, 'invalid_token')
    }
  }

  const http = createServer((req, res) => {
    handle(req, res).catch(() => {
      if (!res.headersSent) res.writeHead(500)
      res.end()
    })
  })
  origin = await listenLoopback(http)
  return {
    url: url(),
    origin,
    metadataUrl: `${origin}${metadataPath}`,
    checks,
    setIssuer(value) {
      issuer = value
      jwks = undefined
    },
    close: () =>
      new Promise<void>((resolve) => {
        http.close(() => resolve())
        http.closeAllConnections()
      }),
  }
}
