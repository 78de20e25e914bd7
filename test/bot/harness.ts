// Shared setup for the bot tests: a Bot API server on loopback, oidc-provider, and the real
// daemon (in process) whose bot long-polls the Bot API server.
import { readFile } from 'node:fs/promises'
import type { Config } from '../../src/config.js'
import { startDaemon, type Daemon } from '../../src/daemon.js'
import { createLogger } from '../../src/log.js'
import { TEST_BOT_TOKEN, buttons, startBotApiServer, type BotApiRequest, type BotApiServer, type TgUser } from '../support/bot-api-server.js'
import { freePort, logCapture, testConfig, type Teardown } from '../support/deps.js'
import { startOidcServer, type OidcServer } from '../support/oidc-server.js'
import type { Integration } from '../../src/integrations/types.js'

export const USER: TgUser = { id: 4242, first_name: 'Ada' }
export const STRANGER: TgUser = { id: 666, first_name: 'Mallory' }
/** 40 characters, so the fingerprint reads "40 characters, ends …XY12". */
export const CANARY_SECRET = 'canary-client-secret-0123456789abcdeXY12'
export const CLIENT_ID = 'chat-client'

export interface BotWorld {
  tg: BotApiServer
  as: OidcServer
  config: Config
  logs: ReturnType<typeof logCapture>
  daemon: Daemon
  /** Starts another daemon on the same config (after closing the first: a restart). */
  restart(): Promise<Daemon>
}

/**
 * Provider `acme` has no client credentials in the config (the chat supplies them);
 * `pasty` is a paste-mode provider with credentials in the config.
 */
export async function botWorld(
  t: Teardown,
  opts: { acme?: Record<string, unknown>; providers?: Record<string, unknown>; pkceRequired?: boolean; resolveIntervalMs?: number; integrations?: readonly Integration[] } = {},
): Promise<BotWorld> {
  const tg = await startBotApiServer(t)
  const port = await freePort()
  const publicUrl = `http://127.0.0.1:${port}`
  const as = await startOidcServer({
    pkceRequired: opts.pkceRequired ?? true,
    clients: [{ clientId: CLIENT_ID, clientSecret: CANARY_SECRET, redirectUris: [`${publicUrl}/oauth/callback`], authMethod: 'client_secret_post' }],
  })
  t.teardown(() => as.close())
  const base = { authorizationUrl: as.authorizationUrl, tokenUrl: as.tokenUrl, scopes: ['openid', 'offline_access'] }
  const config = testConfig(t, {
    listen: { host: '127.0.0.1', port },
    publicUrl,
    resolveIntervalMs: opts.resolveIntervalMs ?? 60_000, // the callback event, not the timer, runs the job
    telegram: { token: TEST_BOT_TOKEN, allowedUserIds: [USER.id], apiRoot: tg.apiRoot },
    providers: {
      acme: { ...base, displayName: 'Acme', revocationUrl: `${as.issuer}/token/revocation`, ...opts.acme },
      pasty: { ...base, displayName: 'Pasty', clientId: CLIENT_ID, clientSecret: CANARY_SECRET, redirectMode: 'paste' },
      ...opts.providers,
    },
  })
  const logs = logCapture()
  const start = async () => {
    const d = await startDaemon(config, { log: createLogger('debug', logs.stream), ...(opts.integrations ? { integrations: opts.integrations } : {}) })
    t.teardown(() => d.close())
    // Short polls so that stopping never waits on a held getUpdates.
    await d.bot?.ready
    return d
  }
  const world: BotWorld = {
    tg,
    as,
    config,
    logs,
    daemon: await start(),
    async restart() {
      await world.daemon.close()
      world.daemon = await start()
      return world.daemon
    },
  }
  return world
}

/** The user says `text`, then waits for the bot's next sendMessage whose text matches. */
export async function say(w: BotWorld, text: string, expect: RegExp, user: TgUser = USER): Promise<BotApiRequest> {
  const from = w.tg.requests.length
  w.tg.userSays(user, text)
  return w.tg.waitFor((r) => r.method === 'sendMessage' && expect.test(String(r.payload.text)), { from, what: `sendMessage ${expect}` })
}

/** Runs the credentials dialog for `acme` up to the link; returns the link message request and its id. */
export async function connectWithCredentials(w: BotWorld): Promise<{ link: BotApiRequest; linkMessageId: number; secretMessageId: number }> {
  await say(w, 'Connect ACME', /Send me the app's client id/)
  await say(w, CLIENT_ID, /Now send the client secret for Acme/)
  const from = w.tg.requests.length
  const secretMessageId = w.tg.userSays(USER, CANARY_SECRET)
  const link = await w.tg.waitFor((r) => r.method === 'sendMessage' && /waiting for you to approve/.test(String(r.payload.text)), { from, what: 'the link' })
  return { link, linkMessageId: linkMessageIdOf(w, link), secretMessageId }
}

/** The message id the server gave the bot's sendMessage (matched by text). */
export function linkMessageIdOf(w: BotWorld, r: BotApiRequest): number {
  const found = [...w.tg.messages.values()].filter((m) => m.fromBot && m.chatId === Number(r.payload.chat_id) && buttons(r.payload)[0]?.url && m.replyMarkup !== undefined && JSON.stringify(m.replyMarkup) === JSON.stringify(r.payload.reply_markup))
  const last = found.at(-1)
  if (!last) throw new Error('link message not found')
  return last.messageId
}

/** Waits for the edit of `messageId` whose text matches. */
export function editOf(w: BotWorld, messageId: number, expect: RegExp, ms = 20_000): Promise<BotApiRequest> {
  return w.tg.waitFor((r) => r.method === 'editMessageText' && Number(r.payload.message_id) === messageId && expect.test(String(r.payload.text)), { ms, what: `editMessageText ${expect}` })
}

export async function authJson(config: Config): Promise<Record<string, Record<string, unknown>>> {
  return JSON.parse(await readFile(config.authFile, 'utf8'))
}

export { until } from '../support/until.js'
