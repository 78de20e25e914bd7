import { hash, randomBytes } from 'node:crypto'
import type { Db } from '../db/open.js'
import { prepared } from '../db/statements.js'
import { formatScope, parseScope, type Scope } from './scopes.js'

/** Agent names: short, shell- and chat-safe. "api-token" is what the audit calls the API token. */
export const AGENT_NAME_PATTERN = /^[a-z0-9][a-z0-9_-]{0,39}$/
export const API_TOKEN_AGENT = 'api-token'

/** Agent tokens start with this, so a leaked one is recognisable (secret scanners, logs). */
export const AGENT_TOKEN_PREFIX = 'lka_'

/** How often last_used_at is written for one agent: not a write per proxied request. */
const LAST_USED_GRANULARITY_MS = 60_000

export interface Agent {
  name: string
  scopes: Scope[]
  createdAt: number
  lastUsedAt: number | null
}

interface AgentRow {
  name: string
  scopes: string
  created_at: number
  last_used_at: number | null
}

/** Parsed scope lists by their stored JSON: the same few agents ask on every proxied request. Shared: never mutated. */
const parsedScopes = new Map<string, Scope[]>()

function scopesOf(json: string): Scope[] {
  let scopes = parsedScopes.get(json)
  if (!scopes) {
    if (parsedScopes.size >= 256) parsedScopes.clear()
    scopes = JSON.parse(json) as Scope[]
    parsedScopes.set(json, scopes)
  }
  return scopes
}

const toAgent = (r: AgentRow): Agent => ({ name: r.name, scopes: scopesOf(r.scopes), createdAt: r.created_at, lastUsedAt: r.last_used_at })

/** Hex SHA-256 of a token: what the agents table stores and looks up. */
export function hashToken(token: string): string {
  // One-shot: no Hash object per proxied request.
  return hash('sha256', token, 'hex')
}

/** Thrown for a caller mistake in agent management (bad name, bad spec, duplicate, unknown). */
export class AgentError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'AgentError'
  }
}

/**
 * Creates an agent with the given `--allow` specs and returns its token, the only time it exists
 * outside the caller: the table keeps its hash.
 */
export function addAgent(db: Db, name: string, specs: readonly string[], now: number): { agent: Agent; token: string } {
  if (!AGENT_NAME_PATTERN.test(name) || name === API_TOKEN_AGENT)
    throw new AgentError(`agent name ${JSON.stringify(name.slice(0, 60))}: expected 1-40 lower-case letters, digits, "-" or "_" (and not "${API_TOKEN_AGENT}")`)
  if (!specs.length) throw new AgentError('give at least one --allow <connection>[:<METHODS>[:<path prefix>]]')
  let scopes: Scope[]
  try {
    scopes = specs.map(parseScope)
  } catch (err) {
    throw new AgentError((err as Error).message)
  }
  const token = `${AGENT_TOKEN_PREFIX}${randomBytes(32).toString('base64url')}`
  const inserted = db
    .prepare('INSERT INTO agents (name, token_hash, scopes, created_at) VALUES (?, ?, ?, ?) ON CONFLICT (name) DO NOTHING')
    .run(name, hashToken(token), JSON.stringify(scopes), now)
  if (inserted.changes === 0) throw new AgentError(`an agent named "${name}" exists already: remove it first ("latchkey agent remove ${name}")`)
  return { agent: { name, scopes, createdAt: now, lastUsedAt: null }, token }
}

/** Every agent, by name. */
export function listAgents(db: Db): Agent[] {
  return (db.prepare('SELECT name, scopes, created_at, last_used_at FROM agents ORDER BY name').all() as AgentRow[]).map(toAgent)
}

/** Revokes an agent at once (the next request with its token gets 401); false when there was none. */
export function removeAgent(db: Db, name: string): boolean {
  return db.prepare('DELETE FROM agents WHERE name = ?').run(name).changes > 0
}

/** The agent holding `token`, or undefined; notes the use (at most once a minute per agent). */
export function findAgentByToken(db: Db, token: string, now: number): Agent | undefined {
  if (!token.startsWith(AGENT_TOKEN_PREFIX)) return undefined
  const row = prepared(db, 'SELECT name, scopes, created_at, last_used_at FROM agents WHERE token_hash = ?').get(hashToken(token)) as AgentRow | undefined
  if (!row) return undefined
  if (row.last_used_at === null || now - row.last_used_at >= LAST_USED_GRANULARITY_MS) {
    prepared(db, 'UPDATE agents SET last_used_at = ? WHERE name = ?').run(now, row.name)
    row.last_used_at = now
  }
  return toAgent(row)
}

/** The scopes as `--allow` spec strings. */
export function scopeSpecs(agent: Pick<Agent, 'scopes'>): string[] {
  return agent.scopes.map(formatScope)
}
