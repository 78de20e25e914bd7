import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http'

// RFC 9110 §7.6.1 plus the ones this proxy owns: the caller's credentials and cookies never go
// upstream, the provider's cookies never come back, and forwarding/identity headers stay here.
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'te', 'trailer', 'transfer-encoding', 'upgrade'])
const NEVER_UPSTREAM = new Set(['authorization', 'cookie', 'host', 'forwarded', 'expect'])
const NEVER_DOWNSTREAM = new Set(['set-cookie', 'set-cookie2'])

/** Header names listed in a Connection header are hop-by-hop too. */
function connectionListed(headers: IncomingHttpHeaders): Set<string> {
  const value = headers.connection
  return new Set(typeof value === 'string' ? value.split(',').map((s) => s.trim().toLowerCase()).filter(Boolean) : [])
}

/**
 * What the caller sent, minus hop-by-hop headers, its Authorization, Cookie, Proxy-*, Host,
 * X-Forwarded-* and Tailscale-* (serve's identity headers are about the user, not for providers).
 */
export function upstreamRequestHeaders(headers: IncomingHttpHeaders): OutgoingHttpHeaders {
  const listed = connectionListed(headers)
  const out: OutgoingHttpHeaders = {}
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined || HOP_BY_HOP.has(name) || NEVER_UPSTREAM.has(name) || listed.has(name)) continue
    if (name.startsWith('proxy-') || name.startsWith('x-forwarded-') || name.startsWith('tailscale-')) continue
    out[name] = value
  }
  return out
}

/** What the provider answered, minus hop-by-hop headers and cookies. */
export function downstreamResponseHeaders(headers: IncomingHttpHeaders): OutgoingHttpHeaders {
  const listed = connectionListed(headers)
  const out: OutgoingHttpHeaders = {}
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined || HOP_BY_HOP.has(name) || NEVER_DOWNSTREAM.has(name) || listed.has(name) || name.startsWith('proxy-')) continue
    out[name] = value
  }
  return out
}

/**
 * A redirect that stays under the API base becomes a /proxy path, so an agent following it stays
 * in the proxy; any other Location is left as it is (the agent may follow it, without a token).
 */
export function rewriteLocation(location: string, upstream: URL, basePath: string, proxyPrefix: string): string {
  let target: URL
  try {
    target = new URL(location, upstream)
  } catch {
    return location
  }
  if (target.origin !== upstream.origin || !target.pathname.startsWith(`${basePath}/`)) return location
  return `${proxyPrefix}${target.pathname.slice(basePath.length)}${target.search}`
}
