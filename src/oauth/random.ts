import { createHash, randomBytes } from 'node:crypto'

/** 43 base64url characters from 32 CSPRNG bytes: a state, a flow id or a PKCE verifier (RFC 7636 §4.1). */
export function randomToken(): string {
  return randomBytes(32).toString('base64url')
}

/** What every state and flow id looks like; checked before any lookup (oauth-security.md G2). */
export const TOKEN_PATTERN = /^[A-Za-z0-9_-]{43}$/

/** PKCE S256 challenge: BASE64URL(SHA256(ASCII(verifier))) (RFC 7636 §4.2). */
export function codeChallengeS256(verifier: string): string {
  return createHash('sha256').update(verifier, 'ascii').digest('base64url')
}
