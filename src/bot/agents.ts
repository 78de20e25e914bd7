import { Composer, InlineKeyboard, type Api, type Context } from 'grammy'
import type { Deps } from '../deps.js'
import { AGENT_NAME_PATTERN, listAgents, removeAgent, scopeSpecs } from '../broker/agents.js'
import type { ChatLinks } from '../broker/connect.js'
import { humanDuration } from '../time-format.js'
import { sendConnectLink } from './connect.js'

/**
 * Connect links asked for by agents (MCP `connect`) go to the first allowed user's private chat,
 * with a first line naming the agent.
 */
export function chatLinks(deps: Deps, api: Api, allowedUserIds: readonly number[]): ChatLinks | undefined {
  const chatId = allowedUserIds[0]
  if (chatId === undefined) return undefined
  return { send: (provider, agent) => sendConnectLink(deps, api, chatId, provider, { agent }) }
}

/** /agents: every agent with its scopes and last use, and a button to revoke each. */
export function agentsComposer(deps: Deps): Composer<Context> {
  const composer = new Composer<Context>()

  composer.command('agents', async (ctx) => {
    const agents = listAgents(deps.db)
    if (!agents.length) return ctx.reply('No agents yet. On the machine: latchkey agent add <name> --allow <connection>[:<METHODS>[:<path>]]')
    const now = deps.clock.now()
    const keyboard = new InlineKeyboard()
    const lines = agents.map((a) => {
      keyboard.text(`Revoke ${a.name}`, `ag:r:${a.name}`).row()
      const used = a.lastUsedAt === null ? 'never used' : `last used ${humanDuration(a.lastUsedAt - now)}`
      return `🤖 ${a.name}: ${scopeSpecs(a).join(', ')} (${used})`
    })
    return ctx.reply(lines.join('\n'), { reply_markup: keyboard })
  })

  composer.callbackQuery(/^ag:r:([a-z0-9_-]{1,40})$/, async (ctx) => {
    await ctx.answerCallbackQuery()
    const name = ctx.match[1] as string
    if (!AGENT_NAME_PATTERN.test(name)) return
    const removed = removeAgent(deps.db, name)
    if (removed) deps.log.info({ agent: name }, 'agent revoked from the chat')
    const text = removed ? `🚫 Agent "${name}" revoked: its token no longer works.` : `There is no agent "${name}" any more.`
    const messageId = ctx.callbackQuery.message?.message_id
    return messageId === undefined ? ctx.reply(text) : ctx.api.editMessageText(ctx.chat?.id as number, messageId, text)
  })

  return composer
}
