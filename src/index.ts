/**
 * latchkey as a library, for agents written in TypeScript.
 * @example
 * import { getAccessToken } from 'latchkey'
 * const token = await getAccessToken('dexcom')
 */
export { getAccessToken } from './token.js'
export { TokenSource } from './oauth/refresh.js'
export { loadConfig, parseConfig, type Config } from './config.js'
export { AppError, isAppError, type ErrorCode } from './errors.js'
export { getProvider } from './providers/lookup.js'
export type { Provider } from './providers/schema.js'
export { readAuthFile, type OAuthEntry } from './store/auth-json.js'
