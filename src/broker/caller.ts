import type { Db } from '../db/open.js'
import { isApiToken } from '../http/api-auth.js'
import { AGENT_TOKEN_PREFIX, API_TOKEN_AGENT, findAgentByToken } from './agents.js'
import type { Grants } from './scopes.js'

/** Who is calling the broker: the API token's holder (every right) or a named agent. */
export interface Caller {
  /** The agent's name, or "api-token". */
  name: string
  grants: Grants
  /** True for an agent: the chat names it when it starts a connect. */
  isAgent: boolean
}

/**
 * The caller behind an `Authorization: Bearer …` header: the API token (compared in constant
 * time), else an agent token looked up by its hash; undefined for anything else.
 */
export function authenticate(db: Db, apiToken: string, header: string | undefined, now: number): Caller | undefined {
  const m = /^Bearer ([\x21-\x7e]+)$/.exec(header ?? '')
  const presented = m?.[1]
  if (presented === undefined) return undefined
  // An agent token (by its prefix) is looked up first: one hash per proxied request, not three.
  const agent = presented.startsWith(AGENT_TOKEN_PREFIX) && presented.length <= 512 ? findAgentByToken(db, presented, now) : undefined
  if (agent) return { name: agent.name, grants: agent.scopes, isAgent: true }
  return isApiToken(presented, apiToken) ? { name: API_TOKEN_AGENT, grants: 'all', isAgent: false } : undefined
}
