import { createHash, timingSafeEqual } from 'node:crypto'

/**
 * Checks an `Authorization: Bearer <token>` header against the API token in constant time
 * (both sides are hashed first, so neither length nor prefix leaks).
 */
export function hasBearer(header: string | undefined, apiToken: string): boolean {
  const m = /^Bearer ([\x21-\x7e]+)$/.exec(header ?? '')
  return m?.[1] !== undefined && isApiToken(m[1], apiToken)
}

const digest = (s: string) => createHash('sha256').update(s).digest()
let apiDigest: { token: string; digest: Buffer } | undefined

/** Whether `presented` is the API token, compared in constant time (the API token's digest is computed once). */
export function isApiToken(presented: string, apiToken: string): boolean {
  if (apiDigest?.token !== apiToken) apiDigest = { token: apiToken, digest: digest(apiToken) }
  return timingSafeEqual(digest(presented), apiDigest.digest)
}
