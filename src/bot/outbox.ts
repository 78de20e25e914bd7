import { GrammyError, InlineKeyboard, type Api } from 'grammy'
import type { InlineKeyboardMarkup } from 'grammy/types'
import type { Deps } from '../deps.js'
import { markOutboxDelivered, undeliveredOutbox, type OutboxMessage } from '../db/outbox.js'
import { describeBotError } from './errors.js'
import { connectButton } from './texts.js'

/** Rows older than this when the bot first sees them (it was down or unconfigured) are dropped, not sent. */
export const OUTBOX_MAX_AGE_MS = 24 * 60 * 60 * 1000

/** A one-tap way forward for failures and reminders; none for successes. */
function buttonsFor(m: OutboxMessage): InlineKeyboardMarkup | undefined {
  if (m.kind === 'needs_reauth' || m.kind === 'reconsent_due' || m.kind === 'refresh_failing') return connectButton('Reconnect', m.provider)
  // A re-consent with the larger scope set a provider asked for (oauth/step-up.ts).
  if (m.kind === 'scope_step_up') return new InlineKeyboard().text('Approve more access', `s:${m.provider}`)
  if (m.kind === 'flow_denied' || m.kind === 'flow_failed' || m.kind === 'flow_expired') return connectButton('Try again', m.provider)
  return undefined
}

/** Telegram refused for good (bad request, blocked by the user): retrying cannot help. */
function isPermanent(err: unknown): boolean {
  return err instanceof GrammyError && (err.error_code === 400 || err.error_code === 403)
}

export interface DeliverySummary {
  delivered: number
  dropped: number
  /** Rows left for the next run because Telegram could not be reached. */
  deferred: number
}

/**
 * Drains the outbox through the Bot API: a flow's report edits the message that showed its
 * link; anything else is sent to the allowed users. A row is marked delivered only after the
 * Bot API accepted it; a network failure stops the run and leaves the rest for the next one.
 * Chat ids come from flow rows, which any API-token holder can create, so only allowed user ids
 * are ever written to.
 */
export async function deliverOutbox(
  deps: Pick<Deps, 'db' | 'clock' | 'log'>,
  api: Api,
  allowedUserIds: readonly number[],
): Promise<DeliverySummary> {
  const summary: DeliverySummary = { delivered: 0, dropped: 0, deferred: 0 }
  const rows = undeliveredOutbox(deps.db)
  for (const [i, m] of rows.entries()) {
    const now = deps.clock.now()
    if (now - m.createdAt > OUTBOX_MAX_AGE_MS) {
      markOutboxDelivered(deps.db, m.id, now)
      deps.log.info({ outboxId: m.id, kind: m.kind, provider: m.provider }, 'outbox message too old to send: dropped')
      summary.dropped++
      continue
    }
    const reply_markup = buttonsFor(m)
    const ownChat = m.chatId !== null && allowedUserIds.includes(m.chatId) ? m.chatId : undefined
    try {
      let edited = false
      if (ownChat !== undefined && m.messageId !== null) {
        try {
          await api.editMessageText(ownChat, m.messageId, m.text, reply_markup ? { reply_markup } : {})
          edited = true
        } catch (err) {
          if (err instanceof GrammyError && /not modified/i.test(err.description)) edited = true
          else if (!isPermanent(err)) throw err
          // The waiting message is gone (deleted by the user, or too old to edit): send a new one.
        }
      }
      if (!edited) for (const chat of ownChat !== undefined ? [ownChat] : allowedUserIds) await api.sendMessage(chat, m.text, reply_markup ? { reply_markup } : {})
      markOutboxDelivered(deps.db, m.id, deps.clock.now())
      summary.delivered++
    } catch (err) {
      if (isPermanent(err)) {
        markOutboxDelivered(deps.db, m.id, deps.clock.now())
        deps.log.warn({ outboxId: m.id, kind: m.kind, provider: m.provider, reason: describeBotError(err) }, 'Telegram refused an outbox message: dropped')
        summary.dropped++
        continue
      }
      deps.log.warn({ outboxId: m.id, kind: m.kind, reason: describeBotError(err) }, 'could not deliver to Telegram; will retry')
      summary.deferred = rows.length - i
      break
    }
  }
  return summary
}
