import type { Context, MiddlewareFn } from 'grammy'
import type { Logger } from '../log.js'

/**
 * Serves only new messages and button taps from the allowed numeric user ids, in their private
 * chat with the bot (chat id = user id). Every other update (other users, groups, channels,
 * edited messages, inline queries, membership changes) stops here: no reply, no state change
 * (oauth-security.md T1). Never by @username, which its owner can change.
 */
export function allowlist(allowedUserIds: readonly number[], log: Pick<Logger, 'info'>): MiddlewareFn<Context> {
  const allowed = new Set(allowedUserIds)
  return async (ctx, next) => {
    const u = ctx.update
    const served = u.message !== undefined || u.callback_query !== undefined
    const from = ctx.from
    const chat = ctx.chat
    if (served && from && !from.is_bot && allowed.has(from.id) && chat?.type === 'private' && chat.id === from.id) return next()
    log.info(
      { updateId: u.update_id, type: Object.keys(u).find((k) => k !== 'update_id'), fromId: from?.id, chatType: chat?.type },
      'ignored an update (not an allowed user in a private chat)',
    )
  }
}
