import type { Db } from '../db/open.js'
import { hasBearer } from '../http/api-auth.js'
import { API_TOKEN_AGENT, findAgentByToken } from './agents.js'
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
  if (hasBearer(header, apiToken)) return { name: API_TOKEN_AGENT, grants: 'all', isAgent: false }
  const m = /^Bearer ([\x21-\x7e]{1,512})$/.exec(header ?? '')
  if (!m?.[1]) return undefined
  const agent = findAgentByToken(db, m[1], now)
  return agent && { name: agent.name, grants: agent.scopes, isAgent: true }
}
