import { z } from 'zod'
import { SecureUrlSchema } from '../url.js'
import { BUILT_IN_PROVIDERS } from './catalog.js'

/**
 * A `providers.<id>` config entry with a `url`: client credentials registered by hand at a server
 * connected by URL ("connect <url>" then uses them instead of Dynamic Client Registration).
 */
export const UrlProviderEntrySchema = z
  .object({
    url: SecureUrlSchema,
    clientId: z.string().min(1).max(512),
    clientSecret: z.string().min(1).max(2048).optional(),
    clientAuth: z.enum(['body', 'basic']).optional(),
  })
  .strict()

export type UrlProviderEntry = z.infer<typeof UrlProviderEntrySchema>

/**
 * Takes the entries with a `url` out of `raw.providers` (the rest go on to the provider schema)
 * and validates them; each problem is pushed as "providers.<id>.<key>: message".
 */
export function splitUrlEntries(raw: unknown, problems: string[]): { rest: unknown; urlProviders: Record<string, UrlProviderEntry> } {
  const entries = (raw as { providers?: unknown } | null)?.providers
  if (!entries || typeof entries !== 'object' || Array.isArray(entries)) return { rest: raw, urlProviders: {} }
  const others: Record<string, unknown> = {}
  const urlProviders: Record<string, UrlProviderEntry> = {}
  for (const [id, entry] of Object.entries(entries)) {
    if (!entry || typeof entry !== 'object' || !Object.hasOwn(entry, 'url')) {
      others[id] = entry
      continue
    }
    if (Object.hasOwn(BUILT_IN_PROVIDERS, id)) {
      problems.push(`providers.${id}.url: a built-in provider has no url (give this connection another id)`)
      continue
    }
    const parsed = UrlProviderEntrySchema.safeParse(entry)
    if (parsed.success) urlProviders[id] = parsed.data
    else
      for (const issue of parsed.error.issues) {
        const message =
          issue.code === 'invalid_type' && issue.input === undefined
            ? 'required with a url: the client id registered at that server'
            : issue.code === 'unrecognized_keys'
              ? `with a url only clientId, clientSecret and clientAuth may be given (not ${issue.keys.join(', ')})`
              : issue.message
        problems.push(`providers.${id}${issue.path.length ? `.${issue.path.map(String).join('.')}` : ''}: ${message}`)
      }
  }
  return { rest: { ...(raw as object), providers: others }, urlProviders }
}
