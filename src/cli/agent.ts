import { addAgent, AgentError, listAgents, removeAgent, scopeSpecs } from '../broker/agents.js'
import type { Clock } from '../clock.js'
import type { Db } from '../db/open.js'
import type { Output } from './output.js'

export const AGENT_USAGE = `usage: latchkey agent add <name> --allow <spec> [--allow <spec> …]
       latchkey agent list [--json]
       latchkey agent remove <name>
  <spec>: <connection>, <connection>:<METHODS> or <connection>:<METHODS>:<path prefix>
          METHODS a comma list (GET,POST) or *; e.g. dexcom:GET:/v3/users/self/`

/**
 * `latchkey agent add`: prints the new token alone on stdout (once: only its hash is kept).
 * Returns the exit code: 0, or 2 for a bad name or spec or a name in use.
 */
export function agentAdd(deps: { db: Db; clock: Clock }, name: string, specs: readonly string[], out: Output): number {
  try {
    const { token } = addAgent(deps.db, name, specs, deps.clock.now())
    out.info(token)
    return 0
  } catch (err) {
    if (!(err instanceof AgentError)) throw err
    out.error(`${err.message}\n\n${AGENT_USAGE}`)
    return 2
  }
}

/** `latchkey agent list [--json]`: name, scopes, createdAt and lastUsedAt of each agent, never a token. */
export function agentList(deps: { db: Db }, json: boolean, out: Output): number {
  const agents = listAgents(deps.db).map((a) => ({
    name: a.name,
    scopes: scopeSpecs(a),
    createdAt: new Date(a.createdAt).toISOString(),
    lastUsedAt: a.lastUsedAt === null ? null : new Date(a.lastUsedAt).toISOString(),
  }))
  if (json) out.info(JSON.stringify(agents, null, 2))
  else if (!agents.length) out.info('no agents yet: latchkey agent add <name> --allow <spec>')
  else for (const a of agents) out.info(`${a.name}  ${a.scopes.join(' ')}  created ${a.createdAt}  last used ${a.lastUsedAt ?? 'never'}`)
  return 0
}

/** `latchkey agent remove <name>`: revoked at once; exit 1 when there is no such agent. */
export function agentRemove(deps: { db: Db }, name: string, out: Output): number {
  if (removeAgent(deps.db, name)) {
    out.info(`agent ${name} removed: its token no longer works`)
    return 0
  }
  out.error(`no agent named ${JSON.stringify(name.slice(0, 60))} ("latchkey agent list" shows them)`)
  return 1
}
