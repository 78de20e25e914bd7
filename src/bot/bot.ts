import { Bot, type Context } from 'grammy'
import type { UserFromGetMe } from 'grammy/types'
import type { Deps } from '../deps.js'
import { agentsComposer } from './agents.js'
import { allowlist } from './allowlist.js'
import { connectComposer } from './connect.js'
import { connectionsComposer } from './connections.js'
import { describeBotError } from './errors.js'
import { integrationsComposer } from './integrations.js'

export interface CreateBotOptions {
  token: string
  allowedUserIds: readonly number[]
  apiRoot?: string
  /** Skips getMe (tests that drive the bot with handleUpdate). */
  botInfo?: UserFromGetMe
}

/** The bot with every feature installed behind the allowlist; it does not poll (see service.ts). */
export function createBot(deps: Deps, opts: CreateBotOptions): Bot<Context> {
  const bot = new Bot<Context>(opts.token, {
    client: { ...(opts.apiRoot ? { apiRoot: opts.apiRoot } : {}) },
    ...(opts.botInfo ? { botInfo: opts.botInfo } : {}),
  })
  bot.use(allowlist(opts.allowedUserIds, deps.log))
  bot.use(connectComposer(deps))
  bot.use(connectionsComposer(deps))
  bot.use(integrationsComposer(deps))
  bot.use(agentsComposer(deps))
  bot.on('message', (ctx) => ctx.reply('Send /help to see what I can do.'))
  bot.catch((err) => {
    deps.log.error({ updateId: err.ctx.update.update_id, reason: describeBotError(err.error, opts.token) }, 'bot update failed')
  })
  return bot
}
