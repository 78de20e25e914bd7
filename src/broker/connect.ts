import type { Deps } from '../deps.js'
import { getFlowByState, isFlowEnded, type FlowStatus } from '../db/oauth-flows.js'
import { prepareUrlConnection } from '../discovery/connect-url.js'
import { startDeviceFlow } from '../oauth/device.js'
import { startFlow } from '../oauth/flow.js'
import { withStoredCredentials } from '../providers/credentials.js'
import { findProvider, requireClient } from '../providers/lookup.js'
import type { Provider } from '../providers/schema.js'
import type { Caller } from './caller.js'
import { allowsConnection } from './scopes.js'

/** The chat, when the bot runs: sends a connect link that names the agent, and returns its flow. */
export interface ChatLinks {
  send(provider: Provider, agent: string): Promise<{ state: string; link: string } | undefined>
}

/** What a connect asked by an agent came to. */
export interface AgentConnect {
  provider: string
  /** The flow's status when the wait ended. */
  status: FlowStatus
  /** The link the user opens to approve. */
  link: string
  /** True when the link was also sent to the user's chat. */
  sentToChat: boolean
}

export type ConnectOutcome = { ok: true; result: AgentConnect } | { ok: false; message: string }

/** An agent never waits longer than this in one call. */
export const MAX_CONNECT_WAIT_MS = 120_000

/**
 * Starts a connect for `target` (a provider id, or for full rights a URL to discover) on behalf
 * of `caller` (it must have the connection in its scopes): the link goes to the chat when the bot runs (the message names the agent) and is
 * returned too; then waits up to `waitMs` for the flow to end.
 */
export async function connectForCaller(
  deps: Pick<Deps, 'config' | 'db' | 'clock' | 'http' | 'log' | 'events'>,
  chat: ChatLinks | undefined,
  caller: Caller,
  target: string,
  waitMs: number,
): Promise<ConnectOutcome> {
  let providerId = target
  if (/^https?:\/\//i.test(target)) {
    // An agent's scopes name connection ids, which a URL does not have yet: only full rights may add one.
    if (caller.grants !== 'all') return { ok: false, message: `${caller.name} may connect only the connections in its scopes; ask the user to send "connect ${target.slice(0, 200)}" in the chat` }
    const prepared = await prepareUrlConnection(deps, target)
    if (prepared.kind === 'needs_client')
      return { ok: false, message: `${prepared.signInHost} offers no dynamic client registration: give latchkey a client id in the chat ("connect ${prepared.provider.providerId}")` }
    providerId = prepared.provider.providerId
  }
  const found = findProvider(deps.config, providerId)
  if (!found) return { ok: false, message: `unknown provider ${JSON.stringify(providerId.slice(0, 60))}` }
  if (!allowsConnection(caller.grants, found.providerId)) return { ok: false, message: `${caller.name} may not use ${found.providerId}` }
  const provider = withStoredCredentials(deps.db, found)
  if (provider.clientId === undefined) {
    try {
      requireClient(provider)
    } catch (err) {
      return { ok: false, message: `${(err as Error).message}; or send "connect ${provider.providerId}" in the Telegram chat` }
    }
  }
  let sent: { state: string; link: string } | undefined
  if (chat) {
    try {
      sent = await chat.send(provider, caller.name)
    } catch (err) {
      deps.log.warn({ provider: provider.providerId, reason: (err as Error).message }, 'could not send the connect link to the chat')
    }
  }
  const started = sent ?? (await startWithoutChat(deps, provider))
  deps.log.info({ provider: provider.providerId, agent: caller.name, sentToChat: sent !== undefined }, 'connect started for an agent')
  const status = await waitForFlow(deps, started.state, Math.min(Math.max(waitMs, 0), MAX_CONNECT_WAIT_MS))
  return { ok: true, result: { provider: provider.providerId, status, link: started.link, sentToChat: sent !== undefined } }
}

async function startWithoutChat(deps: Pick<Deps, 'config' | 'db' | 'clock' | 'http'>, provider: Provider): Promise<{ state: string; link: string }> {
  if (provider.redirectMode === 'device') {
    const device = await startDeviceFlow(deps, { provider: provider.providerId })
    return { state: device.state, link: device.verificationUriComplete ?? device.verificationUri }
  }
  const flow = startFlow(deps, { provider: provider.providerId })
  return { state: flow.state, link: provider.redirectMode === 'paste' ? flow.authorizationUrl : flow.startUrl }
}

/** Resolves with the flow's status once it has ended or `ms` passed (flow-changed events, and a 1 s re-read). */
function waitForFlow(deps: Pick<Deps, 'db' | 'events'>, state: string, ms: number): Promise<FlowStatus> {
  const read = (): FlowStatus => getFlowByState(deps.db, state)?.status ?? 'expired'
  if (ms === 0 || isFlowEnded(read())) return Promise.resolve(read())
  return new Promise((resolve) => {
    const finish = () => {
      clearTimeout(timer)
      clearInterval(poll)
      deps.events.off('flow-changed', onChange)
      resolve(read())
    }
    const check = () => {
      if (isFlowEnded(read())) finish()
    }
    const onChange = (changed: string) => {
      if (changed === state) check()
    }
    const timer = setTimeout(finish, ms)
    const poll = setInterval(check, 1_000)
    deps.events.on('flow-changed', onChange)
  })
}
