// The MCP SDK's client auth module (with zod v3 and pkce-challenge) is only needed when someone
// connects by URL; loading it on that first use keeps it out of an idle daemon's memory.
let loading: Promise<typeof import('@modelcontextprotocol/sdk/client/auth.js')> | undefined

/** The SDK's client auth module, imported on first use. */
export function sdkAuth(): Promise<typeof import('@modelcontextprotocol/sdk/client/auth.js')> {
  return (loading ??= import('@modelcontextprotocol/sdk/client/auth.js'))
}
