import { createHash, timingSafeEqual } from 'node:crypto'

/**
 * Checks an `Authorization: Bearer <token>` header against the API token in constant time
 * (both sides are hashed first, so neither length nor prefix leaks).
 */
export function hasBearer(header: string | undefined, apiToken: string): boolean {
  const m = /^Bearer ([\x21-\x7e]+)$/.exec(header ?? '')
  if (!m?.[1]) return false
  const digest = (s: string) => createHash('sha256').update(s).digest()
  return timingSafeEqual(digest(m[1]), digest(apiToken))
}
