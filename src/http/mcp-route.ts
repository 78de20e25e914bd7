import type { FastifyInstance } from 'fastify'
import type { Broker } from '../broker/broker.js'
import { authenticate } from '../broker/caller.js'
import { packageVersion } from '../cli/version.js'

/**
 * `POST /mcp`: MCP over Streamable HTTP, stateless (a server and transport per request, so no
 * session outlives its request), with the same Bearer tokens as /proxy; answers may stream as
 * server-sent events. GET and DELETE (server-initiated streams, sessions) are not offered: 405.
 */
// The MCP SDK (with its zod v3, zod-to-json-schema, ajv and hono) is ~10 MiB resident: loaded on
// the first POST /mcp, not at daemon start, so an idle daemon without MCP clients never holds it.
let sdk: Promise<[typeof import('@modelcontextprotocol/sdk/server/streamableHttp.js'), typeof import('../mcp/tools.js')]> | undefined
const loadSdk = () => (sdk ??= Promise.all([import('@modelcontextprotocol/sdk/server/streamableHttp.js'), import('../mcp/tools.js')]))

export async function mcpRoutes(app: FastifyInstance, broker: Broker, opts: { apiToken: string }): Promise<void> {
  app.post('/mcp', { bodyLimit: broker.deps.config.broker.maxRequestBytes + 64 * 1024, config: { rateLimit: false } }, async (request, reply) => {
    const caller = authenticate(broker.deps.db, opts.apiToken, request.headers.authorization, broker.deps.clock.now())
    if (!caller) return reply.code(401).header('www-authenticate', 'Bearer').send({ error: 'unauthorized', message: 'a valid Bearer agent token or API token is required' })
    const [{ StreamableHTTPServerTransport }, { createMcpServer }] = await loadSdk()
    const server = createMcpServer({ broker, caller, chat: broker.chat, version: packageVersion() })
    const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined })
    reply.hijack()
    reply.raw.on('close', () => {
      void transport.close()
      void server.close()
    })
    await server.connect(transport)
    await transport.handleRequest(request.raw, reply.raw, request.body)
  })
  const notAllowed = async (_request: unknown, reply: { code(n: number): { header(k: string, v: string): { send(b: unknown): unknown } } }) =>
    reply.code(405).header('allow', 'POST').send({ error: 'method_not_allowed', message: 'MCP here is POST only (stateless Streamable HTTP)' })
  app.get('/mcp', notAllowed)
  app.delete('/mcp', notAllowed)
}
