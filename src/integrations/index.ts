// The registry: every data integration latchkey ships, in the order their schemas apply.
// Adding one is a folder with a descriptor and a line here; nothing else in src/ names it.
import { integration as dexcom } from './dexcom/index.js'
import { integration as oura } from './oura/index.js'
import type { Integration } from './types.js'

/** Every built-in integration. Tests pass their own list through deps.integrations. */
export const INTEGRATIONS: readonly Integration[] = [dexcom, oura]

/** The integration that syncs from `providerId` under this config, if any. */
export function integrationForProvider(integrations: readonly Integration[], config: Parameters<Integration['providerIds']>[0], providerId: string): Integration | undefined {
  return integrations.find((i) => i.providerIds(config).includes(providerId))
}
