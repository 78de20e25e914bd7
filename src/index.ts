/**
 * latchkey as a library, for agents written in TypeScript.
 * @example
 * import { loadConfig, getProvider } from 'latchkey'
 */
export { loadConfig, parseConfig, type Config } from './config.js'
export { AppError, type ErrorCode } from './errors.js'
export { getProvider } from './providers/lookup.js'
export type { Provider } from './providers/schema.js'
export { readAuthFile, type OAuthEntry } from './store/auth-json.js'
