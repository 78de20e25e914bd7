import type { Config } from '../config.js'
import { createDeps } from '../deps.js'
import { createLogger } from '../log.js'
import { describeDisconnect, disconnectProvider } from '../oauth/disconnect.js'
import { getProvider } from '../providers/lookup.js'
import type { Output } from './output.js'

/**
 * `latchkey disconnect <provider> [--forget-credentials] [--forget-client] [--json]`: what the chat's /disconnect
 * does, from a terminal. Exit 0 when the tokens were removed and the grant revoked (or the
 * provider cannot revoke), 1 when there was nothing to remove or revoking failed.
 */
export async function disconnectCommand(config: Config, providerId: string, opts: { forgetCredentials?: boolean; forgetClient?: boolean; json?: boolean }, out: Output): Promise<number> {
  // Deps first: creating them installs the providers found by "connect <url>".
  const deps = createDeps(config, { log: createLogger(config.logLevel === 'info' ? 'warn' : config.logLevel, process.stderr) })
  try {
    const provider = getProvider(config, providerId) // PROVIDER_UNKNOWN names the known ids
    const outcome = await disconnectProvider(deps, providerId, opts)
    if (opts.json) out.info(JSON.stringify({ provider: providerId, ...outcome }, null, 2))
    else out.info(describeDisconnect(provider.displayName, outcome))
    return outcome.tokensRemoved && outcome.revocation !== 'failed' ? 0 : 1
  } finally {
    deps.db.close()
  }
}
