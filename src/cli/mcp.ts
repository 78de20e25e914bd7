import { readApiToken } from '../api-token.js'
import type { Config } from '../config.js'
import { AppError } from '../errors.js'
import { runStdioBridge } from '../mcp/stdio.js'

/**
 * `latchkey mcp`: MCP over stdio, relayed to the running daemon's POST /mcp with
 * LATCHKEY_AGENT_TOKEN, or the API token when run by the daemon's user.
 */
export async function mcpCommand(config: Config, env: Record<string, string | undefined>): Promise<number> {
  const token = env.LATCHKEY_AGENT_TOKEN || readApiToken(config)
  if (!token)
    throw new AppError('DAEMON_UNREACHABLE', `no LATCHKEY_AGENT_TOKEN and no API token: create one with "latchkey agent add", or start the daemon once ("latchkey serve")`)
  await runStdioBridge({ url: new URL('/mcp', config.publicUrl), token, warn: (m) => process.stderr.write(`${m}\n`) })
  return 0
}
