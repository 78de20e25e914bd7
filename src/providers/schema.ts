import { z } from 'zod'
import { SecureUrlSchema } from '../url.js'

const ParamsSchema = z.record(z.string(), z.string())

export const PROVIDER_ID_PATTERN = /^[a-z0-9][a-z0-9-]{0,39}$/

// No zod defaults here: a config override must not silently reset a built-in's field.
const fields = {
  providerId: z.string().regex(PROVIDER_ID_PATTERN, 'expected lower-case letters, digits and dashes'),
  displayName: z.string().min(1).max(60),
  authorizationUrl: SecureUrlSchema,
  tokenUrl: SecureUrlSchema,
  clientId: z.string().min(1).max(512),
  clientSecret: z.string().min(1).max(2048),
  scopes: z.array(z.string().regex(/^[\x21\x23-\x5b\x5d-\x7e]+$/, 'expected a scope token without spaces')),
  /** Strava and Withings join scopes with commas. */
  scopeSeparator: z.enum([' ', ',']),
  usePkce: z.boolean(),
  /** Token-endpoint client authentication: form body (client_secret_post) or HTTP Basic. */
  clientAuth: z.enum(['body', 'basic']),
  /** Extra authorization-request parameters (Google's access_type=offline). */
  extraParams: ParamsSchema,
  /** Extra code-exchange parameters (Withings' action=requesttoken). */
  tokenParams: ParamsSchema,
  /** Extra refresh parameters (Whoop's scope=offline). */
  refreshParams: ParamsSchema,
  /** Key under which the token response is wrapped (Withings: {status, body: {...}}). */
  responseRoot: z.string().min(1),
  /** RFC 9207: when set, the callback must carry an `iss` equal to this, compared byte for byte. */
  issuer: z.string().min(1),
  /**
   * RFC 9207 with `issuer` set: true (the default) requires `iss` on every callback; false (a
   * discovered server that does not advertise it) compares it only when present.
   */
  requireIss: z.boolean(),
  apiBaseUrl: SecureUrlSchema,
  rotation: z.enum(['none', 'rotating', 'single-use']),
  /** Refresh tokens die this long after consent whatever we do (Spotify, GitHub Apps). */
  refreshTokenMaxAgeMs: z.number().int().positive(),
  /**
   * An access token is taken to expire no later than this (seconds), whatever `expires_in` says:
   * Dexcom documents 7200 s in examples but "milliseconds" in prose (dexcom-api.md §5), and a
   * 7,200,000 read as seconds would hand out a dead token for 83 days.
   */
  maxTokenLifetimeSeconds: z.number().int().positive(),
  /** Where the user registers an app to get a client id. */
  docsUrl: z.string().url(),
  /**
   * "paste": the redirect cannot reach latchkey, so the user pastes the code or URL into the
   * chat. "device": no redirect at all; RFC 8628 (needs `deviceAuthorizationUrl`).
   */
  redirectMode: z.enum(['callback', 'paste', 'device']),
  /** RFC 7009 token revocation endpoint, used by /disconnect. */
  revocationUrl: SecureUrlSchema,
  /** RFC 8628 device authorization endpoint. */
  deviceAuthorizationUrl: SecureUrlSchema,
  /**
   * A daily UTC window ('HH:MM'–'HH:MM', may wrap midnight) in which refresh failures, even
   * invalid_grant, are transient: Dexcom's nightly backups (dexcom-api.md §4).
   */
  transientRefreshWindow: z
    .object({ start: z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/, 'expected HH:MM'), end: z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/, 'expected HH:MM') })
    .strict(),
}

/**
 * One OAuth 2.0 provider: the seed's `OAuthProvider` model plus what real providers need
 * (shared/reference/providers.md §2).
 */
export const ProviderSchema = z
  .object({
    ...fields,
    clientId: fields.clientId.optional(),
    clientSecret: fields.clientSecret.optional(),
    responseRoot: fields.responseRoot.optional(),
    issuer: fields.issuer.optional(),
    requireIss: fields.requireIss.optional(),
    apiBaseUrl: fields.apiBaseUrl.optional(),
    refreshTokenMaxAgeMs: fields.refreshTokenMaxAgeMs.optional(),
    maxTokenLifetimeSeconds: fields.maxTokenLifetimeSeconds.optional(),
    docsUrl: fields.docsUrl.optional(),
    redirectMode: fields.redirectMode.optional(),
    revocationUrl: fields.revocationUrl.optional(),
    deviceAuthorizationUrl: fields.deviceAuthorizationUrl.optional(),
    transientRefreshWindow: fields.transientRefreshWindow.optional(),
  })
  .strict()

export type Provider = z.infer<typeof ProviderSchema>

/** A `providers.<id>` config entry: any field, to override a built-in or define a new provider. */
export const ProviderOverrideSchema = z.object(fields).omit({ providerId: true }).partial().strict()
export type ProviderOverride = z.infer<typeof ProviderOverrideSchema>

const DEFAULTS = {
  scopes: [],
  scopeSeparator: ' ',
  usePkce: true,
  clientAuth: 'body',
  extraParams: {},
  tokenParams: {},
  refreshParams: {},
  rotation: 'rotating',
} as const

/** Merges defaults, a base entry and overrides (parameter maps merge key by key), then validates. */
export function buildProvider(providerId: string, ...layers: ProviderOverride[]): Provider {
  const merged: Record<string, unknown> = { providerId, ...DEFAULTS }
  for (const layer of layers) {
    for (const [key, value] of Object.entries(layer)) {
      if (value === undefined) continue
      const previous = merged[key]
      merged[key] =
        key.endsWith('Params') && typeof previous === 'object' ? { ...previous, ...(value as object) } : value
    }
  }
  if (merged.displayName === undefined) merged.displayName = providerId
  return ProviderSchema.parse(merged)
}
