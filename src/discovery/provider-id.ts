import { createHash } from 'node:crypto'

const MAX_ID_LENGTH = 40

const slug = (s: string): string => s.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-+|-+$/g, '')
const fit = (s: string): string => s.slice(0, MAX_ID_LENGTH).replace(/-+$/, '')

/**
 * The provider id for a connection by URL: the host (with a non-default port), then the path when
 * the host alone is taken, then a short hash of the URL; lower-case letters, digits and dashes,
 * at most 40 characters. `isTaken(id)` says whether another provider (built in, configured, or
 * discovered from another URL) already has an id. Stable: the caller stores it per URL.
 */
export function deriveProviderId(canonicalUrl: string, isTaken: (id: string) => boolean): string {
  const url = new URL(canonicalUrl)
  const host = slug(`${url.hostname}${url.port ? `-${url.port}` : ''}`) || 'server'
  const path = slug(`${url.pathname}${url.search}`)
  const hash = createHash('sha256').update(canonicalUrl).digest('hex').slice(0, 8)
  const candidates = [fit(host), ...(path ? [fit(`${host}-${path}`)] : [])]
  for (const id of candidates) if (!isTaken(id)) return id
  return `${fit(host).slice(0, MAX_ID_LENGTH - hash.length - 1).replace(/-+$/, '')}-${hash}`
}
