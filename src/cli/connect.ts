import type { Config } from '../config.js'
import { isFlowEnded } from '../db/oauth-flows.js'
import { AppError } from '../errors.js'
import { providerName } from '../providers/lookup.js'
import { describeFailure } from '../oauth/report.js'
import { daemonClient, daemonUnreachable } from './daemon-client.js'
import type { Output } from './output.js'

interface PendingAnswer {
  status: string
  provider: string
  error?: string
  scopes?: string[]
  missingScopes?: string[]
}


/**
 * `latchkey connect <provider>` (and `reconnect`): starts a flow through the running daemon,
 * prints the link, long-polls until the flow ends and prints the result. The daemon replaces the
 * stored tokens only when the new flow connects, as with the chat's Reconnect button.
 * Exit 0 only when connected.
 */
export async function connectCommand(config: Config, providerId: string, out: Output, opts: { reconnect?: boolean } = {}): Promise<number> {
  const api = daemonClient(config)
  const byUrl = /^https?:\/\//i.test(providerId)
  let started
  try {
    // A URL (an MCP server or an issuer) is discovered by the daemon, which answers with the id it gave it.
    started = await api.post('oauth/flows', { json: { ...(byUrl ? { url: providerId } : { provider: providerId }), exchange: 'daemon' } })
  } catch (err) {
    throw daemonUnreachable(config, err)
  }
  const body = started.body as unknown as { state?: string; provider?: string; startUrl?: string; authorizationUrl?: string; userCode?: string; message?: string; expiresAt?: number }
  if (started.statusCode !== 201 || !body.state || !body.startUrl)
    throw new AppError('OAUTH_ERROR', body.message ?? `the daemon answered HTTP ${started.statusCode}`)

  const name = byUrl ? new URL(providerId).host : providerName(config, providerId)
  if (byUrl && body.authorizationUrl)
    out.info(`You'll sign in at ${new URL(body.authorizationUrl).host} for ${name}. This connection's id is ${body.provider} (use it with "latchkey token").`)
  const minutes = body.expiresAt ? Math.max(1, Math.round((body.expiresAt - Date.now()) / 60_000)) : 10
  const code = body.userCode ? `\n\nand enter the code: ${body.userCode}` : ''
  if (opts.reconnect) out.info(`Reconnecting ${name}: the current tokens stay in place until the new connection succeeds.`)
  out.info(`Open this link to connect ${name} (expires in ${minutes} min):\n\n  ${body.startUrl}${code}\n\nWaiting for you to approve…`)
  for (;;) {
    let res
    try {
      res = await api.get(`oauth/pending/${body.state}`, { searchParams: { wait: 30 } })
    } catch (err) {
      throw daemonUnreachable(config, err)
    }
    if (res.statusCode !== 200) throw new AppError('OAUTH_ERROR', `the flow disappeared (HTTP ${res.statusCode})`)
    const answer = res.body as unknown as PendingAnswer
    if (!isFlowEnded(answer.status)) continue
    if (answer.status === 'connected') {
      const scopes = answer.scopes?.length ? ` (scopes: ${answer.scopes.join(', ')})` : ''
      out.info(`✅ ${name} connected${scopes}`)
      if (answer.missingScopes?.length) out.info(`⚠️ not granted: ${answer.missingScopes.join(', ')}`)
      return 0
    }
    if (answer.status === 'expired') out.error(`⌛ ${name}: the link expired before it was approved.`)
    else out.error(`❌ ${name}: ${describeFailure(answer.error ?? null, name)}.`)
    return 1
  }
}
