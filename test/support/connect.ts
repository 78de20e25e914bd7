import { acceptCallback, stateCookieName } from '../../src/oauth/callback.js'
import { startFlow } from '../../src/oauth/flow.js'
import { resolvePending } from '../../src/oauth/pending.js'
import type { TestDeps } from './deps.js'
import { CookieBrowser } from './cookie-browser.js'

/**
 * Connects `provider` for real against an authorization server on loopback, in process:
 * startFlow, the provider's (auto-approving) pages through a cookie browser up to the redirect
 * back, the callback's acceptance, then the resolve job's code exchange.
 */
export async function connectInProcess(deps: TestDeps, provider: string): Promise<void> {
  const flow = startFlow(deps, { provider })
  const back = await new CookieBrowser().get(flow.authorizationUrl, { stopAt: (url) => url.startsWith(deps.config.redirectUri) })
  const params = new URL(String(back.headers.location)).searchParams
  const code = params.get('code')
  if (!code) throw new Error(`no code in the redirect: ${String(back.headers.location)}`)
  const accepted = acceptCallback(deps, { kind: 'code', state: flow.state, code, ...(params.get('iss') ? { iss: params.get('iss') as string } : {}) }, `${stateCookieName(flow.state, false)}=${flow.state}`, false)
  if (accepted.kind !== 'received') throw new Error(`callback refused: ${JSON.stringify(accepted)}`)
  const summary = await resolvePending(deps)
  if (summary.connected !== 1) throw new Error(`exchange failed: ${JSON.stringify(summary)}`)
}
