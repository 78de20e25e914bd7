// An MCP server and its authorization server on loopback, wired to each other: oidc-provider with
// dynamic registration, RFC 8707 resource indicators (JWT access tokens for the MCP server),
// RFC 9207 iss, PKCE required, rotating refresh tokens and 5 s access tokens.
import { startMcpServer, type McpPeer, type McpPeerOptions } from './mcp-server.js'
import { startOidcServer, type OidcClient, type OidcServer } from './oidc-server.js'
import type { Teardown } from './deps.js'

export interface McpWorld {
  mcp: McpPeer
  as: OidcServer
}

export async function mcpWorld(t: Teardown, opts: McpPeerOptions & { registration?: boolean; registrationManagement?: boolean; clients?: OidcClient[] } = {}): Promise<McpWorld> {
  const mcp = await startMcpServer(opts)
  t.teardown(() => mcp.close())
  const as = await startOidcServer({
    clients: opts.clients ?? [],
    registration: opts.registration ?? true,
    registrationManagement: opts.registrationManagement ?? false,
    resources: { [mcp.url]: [...(opts.scopes ?? ['mcp:tools']), ...(opts.stepUpScope ? [opts.stepUpScope] : [])].join(' ') },
  })
  t.teardown(() => as.close())
  mcp.setIssuer(as.issuer)
  return { mcp, as }
}
