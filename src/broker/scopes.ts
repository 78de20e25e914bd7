import { PROVIDER_ID_PATTERN } from '../providers/schema.js'
import { normalisePath } from './path.js'

/** One `--allow` grant: a connection, the methods allowed on it (`*` = any) and a path prefix. */
export interface Scope {
  connection: string
  methods: '*' | readonly string[]
  /** Normalised, starting with `/`; `/` allows every path. */
  pathPrefix: string
}

/** What a caller may do: everything (the API token) or the listed scopes (an agent). */
export type Grants = 'all' | readonly Scope[]

const METHOD_PATTERN = /^[A-Z]{1,16}$/

/**
 * Parses `<connection>`, `<connection>:<METHODS>` or `<connection>:<METHODS>:<path prefix>`
 * (METHODS a comma list or `*`); throws a TypeError naming what is wrong. The prefix may itself
 * hold colons: only the first two separate fields.
 */
export function parseScope(spec: string): Scope {
  const first = spec.indexOf(':')
  const second = first < 0 ? -1 : spec.indexOf(':', first + 1)
  const connection = first < 0 ? spec : spec.slice(0, first)
  const methodsText = first < 0 ? '*' : spec.slice(first + 1, second < 0 ? undefined : second)
  const prefixText = second < 0 ? '/' : spec.slice(second + 1)
  const where = `in --allow ${JSON.stringify(spec.slice(0, 200))}`
  if (!PROVIDER_ID_PATTERN.test(connection)) throw new TypeError(`${where}: the connection must be a provider id (lower-case letters, digits, dashes)`)
  let methods: Scope['methods'] = '*'
  if (methodsText !== '*') {
    const list = methodsText.split(',').map((m) => m.trim().toUpperCase())
    if (!list.length || list.some((m) => !METHOD_PATTERN.test(m))) throw new TypeError(`${where}: METHODS must be a comma list like GET,POST, or *`)
    methods = [...new Set(list)]
  }
  if (!prefixText.startsWith('/')) throw new TypeError(`${where}: the path prefix must start with /`)
  const normalised = normalisePath(prefixText)
  if (!normalised.ok) throw new TypeError(`${where}: the path prefix ${normalised.reason}`)
  // normalisePath drops a trailing slash's meaning nowhere: keep it, since it marks a directory.
  return { connection, methods, pathPrefix: normalised.path }
}

/** The spec text of a scope, as `agent list` shows it. */
export function formatScope(s: Scope): string {
  const methods = s.methods === '*' ? '*' : s.methods.join(',')
  if (s.pathPrefix === '/') return s.methods === '*' ? s.connection : `${s.connection}:${methods}`
  return `${s.connection}:${methods}:${s.pathPrefix}`
}

/**
 * True when `path` is the prefix or lies under it: segment-aware, so `/v3/users/self` allows
 * `/v3/users/self/egvs` but not `/v3/users/selfish`.
 */
export function pathUnder(path: string, prefix: string): boolean {
  if (prefix === '/' || path === prefix) return true
  if (!path.startsWith(prefix)) return false
  return prefix.endsWith('/') || path[prefix.length] === '/'
}

/** Whether `grants` allow `method` on `path` (normalised) of `connection`. */
export function allows(grants: Grants, connection: string, method: string, path: string): boolean {
  if (grants === 'all') return true
  const m = method.toUpperCase()
  return grants.some((s) => s.connection === connection && (s.methods === '*' || s.methods.includes(m)) && pathUnder(path, s.pathPrefix))
}

/** Whether `grants` allow anything at all on `connection` (what list_connections and connect show). */
export function allowsConnection(grants: Grants, connection: string): boolean {
  return grants === 'all' || grants.some((s) => s.connection === connection)
}
