import { z } from 'zod'
import type { Provider } from '../providers/schema.js'
import type { OAuthEntry } from '../store/auth-json.js'

/** What came back from a token endpoint, before any interpretation. */
export interface RawResponse {
  status: number
  contentType: string
  body: string
}

export type TokenOutcome =
  | {
      kind: 'tokens'
      entry: OAuthEntry
      grantedScopes: string[] | null
      /** Set when expires_in was there but unusable (0, negative, absurd, not a number): the lifetime is unknown. */
      oddExpiresIn?: string
    }
  | { kind: 'oauth_error'; status: number; error: string; description?: string }
  | {
      kind: 'bad_response'
      status: number
      reason: string
      /** A new refresh token found in a response rejected for another reason: the old one may be spent, so keep it. */
      refreshToken?: string
    }

/** No access token lives longer than this, whatever the provider says. */
export const MAX_TOKEN_LIFETIME_SECONDS = 365 * 24 * 60 * 60
/** Past this, expires_in is nonsense (2^53 − 1 was seen), not a long lifetime: unknown instead. */
const ABSURD_LIFETIME_SECONDS = 10 * MAX_TOKEN_LIFETIME_SECONDS

const RefreshTokenSchema = z.string().min(1).max(16_384)

// Only the access token decides whether a response is usable: a rotating provider has already
// spent the old refresh token, so no other field may make us throw the answer away.
const TokenBodySchema = z.object({
  access_token: z.string().min(1).max(16_384),
  token_type: z.string().min(1).max(64).optional().catch(undefined),
  expires_in: z.unknown().optional(),
  refresh_token: RefreshTokenSchema.optional(),
  scope: z.string().max(4096).optional().catch(undefined),
})

/**
 * expires_in as whole seconds, or undefined (unknown lifetime) with the reason when it is there
 * but unusable. Numbers and numeric strings ("3600", "3.5") are accepted, fractions floored,
 * and anything over MAX_TOKEN_LIFETIME_SECONDS capped.
 */
export function lifetimeSeconds(value: unknown): { seconds?: number; odd?: string } {
  if (value === undefined || value === null) return {}
  const n = typeof value === 'number' ? value : typeof value === 'string' && /^\s*-?\d+(\.\d+)?\s*$/.test(value) ? Number(value) : Number.NaN
  const shown = String(value).slice(0, 24)
  if (!Number.isFinite(n)) return { odd: `expires_in ${JSON.stringify(shown)} is not a number` }
  const seconds = Math.floor(n)
  if (seconds <= 0) return { odd: `expires_in ${shown} is not positive` }
  if (seconds > ABSURD_LIFETIME_SECONDS) return { odd: `expires_in ${shown} is absurdly long` }
  return { seconds: Math.min(seconds, MAX_TOKEN_LIFETIME_SECONDS) }
}

const ErrorBodySchema = z.object({
  error: z.string().min(1),
  error_description: z.string().optional(),
})

/**
 * A token endpoint's error code (RFC 6749 §5.2 charset %x20-21 / %x23-5B / %x5D-7E, at most 64
 * characters), else `unknown_error`. Providers add their own (GitHub's bad_verification_code),
 * and this channel is server to server, so any well-formed code is kept.
 */
export function sanitizeErrorCode(value: unknown): string {
  return typeof value === 'string' && /^[\x20\x21\x23-\x5b\x5d-\x7e]{1,64}$/.test(value) ? value : 'unknown_error'
}

/** Error codes an authorization response may carry (RFC 6749 §4.1.2.1, OIDC Core §3.1.2.6). */
const AUTHORIZATION_ERROR_CODES = new Set([
  'invalid_request', 'unauthorized_client', 'access_denied', 'unsupported_response_type', 'invalid_scope',
  'server_error', 'temporarily_unavailable', 'login_required', 'consent_required', 'interaction_required',
  'account_selection_required', 'invalid_request_uri', 'invalid_request_object',
])

/**
 * An authorization response's error code, kept only when it is a known one. The callback's
 * query comes through the browser, so anyone can craft it: made-up codes (text meant for the
 * user's eyes) become `unknown_error` and are never shown.
 */
export function knownAuthorizationError(value: unknown): string {
  return typeof value === 'string' && AUTHORIZATION_ERROR_CODES.has(value) ? value : 'unknown_error'
}

/** Printable, single-line, at most `max` characters: safe to show once escaped. */
export function sanitizeDescription(value: unknown, max = 200): string | undefined {
  if (typeof value !== 'string') return undefined
  const clean = value.replace(/[^\x20-\x7e]/g, ' ').replace(/\s+/g, ' ').trim()
  if (!clean) return undefined
  return clean.length > max ? `${clean.slice(0, max - 1)}…` : clean
}

/** Splits a scope string on spaces or commas (Strava answers with commas). */
export function splitScopes(scope: string): string[] {
  return scope.split(/[ ,]+/).filter(Boolean)
}

/**
 * Validates a token-endpoint response (pure). Unwraps the provider's response root, keeps the
 * previous refresh token when none arrives (RFC 6749 §6), turns expires_in into epoch ms, and
 * reads granted scopes (absent means "as requested", §5.1).
 */
export function parseTokenResponse(
  provider: Pick<Provider, 'responseRoot' | 'maxTokenLifetimeSeconds'>,
  raw: RawResponse,
  now: number,
  previousRefreshToken?: string,
): TokenOutcome {
  let body: unknown
  try {
    body = JSON.parse(raw.body)
  } catch {
    return { kind: 'bad_response', status: raw.status, reason: `the token endpoint answered HTTP ${raw.status} with a body that is not JSON` }
  }
  const record = (typeof body === 'object' && body !== null ? body : {}) as Record<string, unknown>
  // Withings answers HTTP 200 with {status: <non-zero>, error} on failure and wraps success in body.
  if (provider.responseRoot !== undefined && typeof record.status === 'number' && record.status !== 0)
    return { kind: 'oauth_error', status: raw.status, error: sanitizeErrorCode(record.error ?? `status_${record.status}`) }
  const inner = provider.responseRoot !== undefined && raw.status < 300 ? record[provider.responseRoot] : body
  // An error body wins on any status: GitHub answers errors with HTTP 200.
  const error = ErrorBodySchema.safeParse(inner ?? body)
  if (error.success && typeof (inner as Record<string, unknown> | undefined)?.access_token !== 'string') {
    const description = sanitizeDescription(error.data.error_description)
    return { kind: 'oauth_error', status: raw.status, error: sanitizeErrorCode(error.data.error), ...(description ? { description } : {}) }
  }
  if (raw.status < 200 || raw.status >= 300)
    return { kind: 'bad_response', status: raw.status, reason: `the token endpoint answered HTTP ${raw.status}` }
  body = inner
  const parsed = TokenBodySchema.safeParse(body)
  if (!parsed.success) {
    const fields = [...new Set(parsed.error.issues.map((i) => i.path.join('.') || '(body)'))].join(', ')
    const refresh = RefreshTokenSchema.safeParse((body as Record<string, unknown> | null)?.refresh_token)
    const outcome: TokenOutcome = { kind: 'bad_response', status: raw.status, reason: `the token response is missing or has invalid fields: ${fields}` }
    // Not enumerable: an outcome gets logged, and the token must never be.
    if (refresh.success) Object.defineProperty(outcome, 'refreshToken', { value: refresh.data, enumerable: false })
    return outcome
  }
  const t = parsed.data
  const tokenType = t.token_type === undefined || t.token_type.toLowerCase() === 'bearer' ? 'Bearer' : t.token_type
  const grantedScopes = t.scope === undefined ? null : splitScopes(t.scope)
  const refresh = t.refresh_token ?? previousRefreshToken
  const lifetime = lifetimeSeconds(t.expires_in)
  const entry: OAuthEntry = {
    type: 'oauth',
    access: t.access_token,
    ...(refresh !== undefined ? { refresh } : {}),
    ...(lifetime.seconds !== undefined ? { expires: now + Math.min(lifetime.seconds, provider.maxTokenLifetimeSeconds ?? Infinity) * 1000 } : {}),
    ...(grantedScopes ? { scope: grantedScopes.join(' ') } : {}),
    tokenType,
  }
  return { kind: 'tokens', entry, grantedScopes, ...(lifetime.odd ? { oddExpiresIn: lifetime.odd } : {}) }
}
