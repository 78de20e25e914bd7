/** The outcome of checking an agent's path: the normalised path, or why it is refused. */
export type PathCheck = { ok: true; path: string } | { ok: false; reason: string }

// Encoded dot, slash, backslash and NUL, and a double-encoded anything: upstream servers disagree
// on whether they decode these before resolving the path, so none may reach one.
const ENCODED_HOSTILE = /%(2e|2f|5c|00|25)/i

/**
 * Normalises the path an agent sent (raw, still percent-encoded, no query string) so that joined
 * to an API base it can only land under that base (agent-access.md §3): refuses backslashes,
 * `//`, encoded dots and slashes, control characters and `..` climbing above the root; resolves
 * `.` and an inner `..`. The scope check runs on the result.
 */
export function normalisePath(raw: string): PathCheck {
  if (!raw.startsWith('/')) return { ok: false, reason: 'must start with /' }
  if (raw.includes('\\')) return { ok: false, reason: 'must not contain a backslash' }
  if (/[\x00-\x20\x7f]/.test(raw)) return { ok: false, reason: 'must not contain spaces or control characters' }
  if (raw.includes('//')) return { ok: false, reason: 'must not contain // (it could name another host)' }
  if (ENCODED_HOSTILE.test(raw)) return { ok: false, reason: 'must not contain an encoded dot, slash, backslash, NUL or percent sign' }
  const out: string[] = []
  const segments = raw.slice(1).split('/')
  for (const [i, segment] of segments.entries()) {
    if (segment === '.') {
      if (i === segments.length - 1) out.push('')
      continue
    }
    if (segment === '..') {
      if (out.length === 0 || (out.length === 1 && out[0] === '')) return { ok: false, reason: 'must not climb above the API base with ..' }
      out.pop()
      if (i === segments.length - 1) out.push('')
      continue
    }
    out.push(segment)
  }
  return { ok: true, path: `/${out.join('/')}` }
}

interface ParsedBase {
  origin: string
  pathname: string
  /** The pathname without trailing slashes. */
  basePath: string
}

/** API bases parsed once each: there are a few, and every proxied request joins one. */
const bases = new Map<string, ParsedBase>()

function parsedBase(apiBaseUrl: string): ParsedBase {
  let base = bases.get(apiBaseUrl)
  if (!base) {
    const url = new URL(apiBaseUrl)
    base = { origin: url.origin, pathname: url.pathname, basePath: url.pathname.replace(/\/+$/, '') }
    if (bases.size >= 256) bases.clear()
    bases.set(apiBaseUrl, base)
  }
  return base
}

/**
 * The upstream URL: the API base's origin and path, then the agent's normalised path (none for
 * `/`) and the raw query. Checked again after joining (defence in depth): the origin and the base path must hold.
 */
export function joinUpstream(apiBaseUrl: string, agentPath: string, query: string): URL {
  const base = parsedBase(apiBaseUrl)
  const basePath = base.basePath
  // The bare `/proxy/<id>/` is the base exactly as given: an MCP connection's base is the server's
  // own endpoint (https://h/mcp), which may not answer at https://h/mcp/.
  const path = agentPath === '/' ? base.pathname : `${basePath}${agentPath}`
  const url = new URL(`${base.origin}${path}${query ? `?${query}` : ''}`)
  if (url.origin !== base.origin || !(url.pathname === basePath || url.pathname.startsWith(`${basePath}/`))) throw new Error('joined URL left the API base')
  return url
}
