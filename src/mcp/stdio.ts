import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js'
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js'
import type { JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js'
import type { Readable, Writable } from 'node:stream'

export interface StdioBridgeOptions {
  /** The daemon's POST /mcp endpoint. */
  url: URL
  /** An agent token or the API token. */
  token: string
  stdin?: Readable
  stdout?: Writable
  /** Problems go here (stderr): stdout is the MCP channel. */
  warn(message: string): void
}

/**
 * `latchkey mcp`: MCP over stdio for clients that start a command, relayed message by message to
 * the daemon's Streamable HTTP endpoint, where the tools run with the caller's scopes. One server
 * implementation (the daemon's) serves both transports. Resolves when the client closes stdin.
 */
export async function runStdioBridge(opts: StdioBridgeOptions): Promise<void> {
  const local = new StdioServerTransport(opts.stdin, opts.stdout)
  const remote = new StreamableHTTPClientTransport(opts.url, { requestInit: { headers: { authorization: `Bearer ${opts.token}` } } })
  const initializeIds = new Set<string | number>()
  let done: () => void = () => {}
  const closed = new Promise<void>((resolve) => (done = resolve))

  local.onmessage = (message: JSONRPCMessage) => {
    if ('method' in message && message.method === 'initialize' && 'id' in message) initializeIds.add(message.id)
    remote.send(message).catch((err: unknown) => {
      const reason = (err as Error).message
      opts.warn(`latchkey mcp: the daemon at ${opts.url.origin} did not take the message (${reason})`)
      // A request must get an answer, or the client waits forever.
      if ('id' in message && 'method' in message)
        void local.send({ jsonrpc: '2.0', id: message.id, error: { code: -32000, message: `latchkey daemon unreachable or refused the request: ${reason}` } })
    })
  }
  remote.onmessage = (message: JSONRPCMessage) => {
    // Later requests carry the negotiated version header, as the SDK's own client does.
    if ('id' in message && message.id !== undefined && initializeIds.delete(message.id) && 'result' in message && typeof message.result.protocolVersion === 'string')
      remote.setProtocolVersion(message.result.protocolVersion)
    void local.send(message)
  }
  remote.onerror = (err) => opts.warn(`latchkey mcp: ${err.message}`)
  local.onclose = () => {
    void remote.close()
    done()
  }
  await remote.start()
  await local.start()
  ;(opts.stdin ?? process.stdin).once('end', () => void local.close())
  await closed
}
