import { GrammyError, type Bot, type Context } from 'grammy'
import { setTimeout as sleep } from 'node:timers/promises'
import type { Deps } from '../deps.js'
import { createBot } from './bot.js'
import { describeBotError } from './errors.js'
import { deliverOutbox } from './outbox.js'
import { commandMenu } from './texts.js'

/** Safety net for outbox rows written without an event in this thread (refresh-job reminders). */
export const OUTBOX_POLL_MS = 2_000
/** stop() waits at most this long for grammY's final getUpdates (it confirms the offset). */
const STOP_GRACE_MS = 3_000

export interface RunningBot {
  bot: Bot<Context>
  /** Resolves once getMe and deleteWebhook succeeded and polling began; rejects if the bot could not start. */
  ready: Promise<void>
  /** The bot's @username once getMe answered (for t.me links), else undefined. */
  username(): string | undefined
  /** Drains the outbox now (coalesced with a drain already running). */
  deliverNow(): Promise<void>
  stop(): Promise<void>
}

export interface StartBotOptions {
  /** Long-poll timeout in seconds (default 30). */
  pollTimeoutSeconds?: number
}

/**
 * Starts the bot with long polling (one instance: a second poller gets 409), installs the
 * command menu, and delivers the outbox on every flow-changed event and every OUTBOX_POLL_MS.
 * Startup does not block the daemon: Telegram may be unreachable for a while.
 */
export function startBot(deps: Deps, opts: StartBotOptions = {}): RunningBot {
  const { token, allowedUserIds, apiRoot } = deps.config.telegram
  if (!token) throw new Error('startBot needs telegram.token')
  const bot = createBot(deps, { token, allowedUserIds, ...(apiRoot ? { apiRoot } : {}) })
  const log = deps.log.child({ component: 'bot' })
  let stopped = false
  let username: string | undefined
  let draining: Promise<void> | undefined
  let again = false

  const deliverNow = (): Promise<void> => {
    if (stopped) return Promise.resolve()
    if (draining) {
      again = true
      return draining
    }
    draining = (async () => {
      do {
        again = false
        try {
          await deliverOutbox(deps, bot.api, allowedUserIds)
        } catch (err) {
          log.error({ reason: describeBotError(err, token) }, 'outbox delivery failed')
        }
      } while (again && !stopped)
    })().finally(() => {
      draining = undefined
    })
    return draining
  }

  let markReady: () => void = () => {}
  let failReady: (err: unknown) => void = () => {}
  const ready = new Promise<void>((resolve, reject) => {
    markReady = resolve
    failReady = reject
  })
  ready.catch(() => {}) // reported through the log below

  const polling = bot.start({
    timeout: opts.pollTimeoutSeconds ?? 30,
    allowed_updates: ['message', 'callback_query'],
    onStart: async (me) => {
      username = me.username
      if (me.can_join_groups)
        log.warn('the bot can be added to groups: turn that off with @BotFather /setjoingroups (latchkey ignores groups anyway)')
      await bot.api.setMyCommands(commandMenu(deps.integrations)).catch((err: unknown) => log.warn({ reason: describeBotError(err, token) }, 'setMyCommands failed'))
      log.info({ bot: me.username }, 'Telegram bot is polling')
      markReady()
      void deliverNow()
    },
  })
  polling.then(
    () => {
      failReady(new Error('the bot stopped before it started'))
    },
    (err: unknown) => {
      if (err instanceof GrammyError && err.error_code === 409)
        log.warn(
          'Telegram answered 409 Conflict: another process is polling with this bot token (or a webhook is set). ' +
            'Run a single latchkey per bot (pm2 instances: 1); the bot is not running.',
        )
      else if (err instanceof GrammyError && err.error_code === 401) log.error('Telegram rejected the bot token (401): check telegram.token; the bot is not running')
      else log.error({ reason: describeBotError(err, token) }, 'the Telegram bot stopped')
      failReady(err)
    },
  )

  const timer = setInterval(() => void deliverNow(), OUTBOX_POLL_MS)
  timer.unref()
  const onChange = () => void deliverNow()
  deps.events.on('flow-changed', onChange)

  return {
    bot,
    ready,
    username: () => username,
    deliverNow,
    async stop() {
      if (stopped) return
      stopped = true
      clearInterval(timer)
      deps.events.off('flow-changed', onChange)
      if (bot.isRunning()) await Promise.race([bot.stop().catch(() => {}), sleep(STOP_GRACE_MS, undefined, { ref: false })])
      await draining
    },
  }
}
