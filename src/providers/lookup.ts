import type { Config } from '../config.js'
import { providerEnvPrefix } from '../config.js'
import { AppError } from '../errors.js'
import type { Provider } from './schema.js'

/** The configured provider with this id, or undefined (ids come from users and old rows). */
export function findProvider(config: Pick<Config, 'providers'>, providerId: string): Provider | undefined {
  return Object.hasOwn(config.providers, providerId) ? config.providers[providerId] : undefined
}

/** The provider with this id, or PROVIDER_UNKNOWN naming every known id. */
export function getProvider(config: Pick<Config, 'providers'>, providerId: string): Provider {
  const provider = findProvider(config, providerId)
  if (!provider) {
    const known = Object.keys(config.providers).sort().join(', ')
    throw new AppError('PROVIDER_UNKNOWN', `unknown provider ${JSON.stringify(providerId.slice(0, 60))}; known providers: ${known}`)
  }
  return provider
}

/** A provider that has a client id, or PROVIDER_NOT_CONFIGURED saying how to add one. */
export function requireClient(provider: Provider): Provider & { clientId: string } {
  if (provider.clientId === undefined) {
    const env = providerEnvPrefix(provider.providerId)
    throw new AppError(
      'PROVIDER_NOT_CONFIGURED',
      `${provider.displayName} has no client id yet: set providers.${provider.providerId}.clientId and .clientSecret ` +
        `in the config file, or ${env}CLIENT_ID and ${env}CLIENT_SECRET in the environment` +
        (provider.docsUrl ? ` (register an app at ${provider.docsUrl})` : ''),
    )
  }
  return provider as Provider & { clientId: string }
}

/** The provider's display name, or its id when it is no longer configured. */
export function providerName(config: Pick<Config, 'providers'>, providerId: string): string {
  return findProvider(config, providerId)?.displayName ?? providerId
}
