import { Composer, type Context } from 'grammy'
import type { Deps } from '../deps.js'

/**
 * Every integration's chat commands. A handler module is imported on its command's first use,
 * so a bot that is never asked for /glucose never loads the chart renderer.
 */
export function integrationsComposer(deps: Deps): Composer<Context> {
  const composer = new Composer<Context>()
  for (const integration of deps.integrations) {
    const chat = integration.chat
    if (!chat) continue
    let loaded: Promise<Composer<Context>> | undefined
    for (const { command } of chat.commands) {
      composer.command(command, async (ctx, next) => (await (loaded ??= chat.load(deps))).middleware()(ctx, next))
    }
  }
  return composer
}
