import { Composer, InlineKeyboard, type Context } from 'grammy'
import type { Deps } from '../deps.js'
import { getConnection, listConnections, type Connection } from '../db/connections.js'
import { getDiscovered } from '../db/discovered.js'
import { getCredentials } from '../db/provider-credentials.js'
import { isConfiguredId } from '../discovery/install.js'
import { isAppError } from '../errors.js'
import { hostOf } from '../discovery/fetch.js'
import { describeDisconnect, disconnectProvider, forgettableClient } from '../oauth/disconnect.js'
import { withStoredCredentials } from '../providers/credentials.js'
import { getProvider, providerName } from '../providers/lookup.js'
import { asOAuthEntry, readAuthFile, type AuthFile, type OAuthEntry } from '../store/auth-json.js'
import { humanDuration } from '../time-format.js'
import { findProviderId } from './connect.js'
import { WELCOME_HTML, hasButtons, helpText } from './texts.js'

async function readAuth(deps: Pick<Deps, 'config'>, ctx: Context): Promise<AuthFile | undefined> {
  try {
    return await readAuthFile(deps.config.authFile)
  } catch (err) {
    if (!isAppError(err)) throw err
    await ctx.reply(`The auth file cannot be read (${err.code}). Run "latchkey doctor" on the machine.`)
    return undefined
  }
}

/** One line per connection: state, token expiry, last refresh. */
export function connectionLine(name: string, entry: OAuthEntry, connection: Connection | undefined, now: number): string {
  // No record: another agent tool wrote this entry; latchkey does not refresh it (refresh-job.ts).
  const state = !connection
    ? '➖'
    : connection.status === 'needs_reauth'
      ? '⚠️ needs reconnecting'
      : connection.status === 'failing'
        ? `⏳ renewing fails (${connection.lastError ?? 'error'})`
        : '✅'
  const expiry =
    entry.expires === undefined ? 'expiry not given' : entry.expires > now ? `token expires ${humanDuration(entry.expires - now)}` : `token expired ${humanDuration(entry.expires - now)}`
  const refreshed = connection?.lastRefreshAt
    ? `last refresh ${humanDuration(connection.lastRefreshAt - now)}`
    : connection
      ? `connected ${humanDuration(connection.consentedAt - now)}, not refreshed yet`
      : 'written by another tool, not refreshed by latchkey'
  return `${state} ${name}: ${expiry}, ${refreshed}`
}

/** /connections, /disconnect, /providers, /help. */
export function connectionsComposer(deps: Deps): Composer<Context> {
  const composer = new Composer<Context>()
  const name = (id: string) => providerName(deps.config, id)

  const help = helpText(deps.integrations)
  composer.command('help', (ctx) => ctx.reply(help))
  // What a new user sees first: what the bot is for, and one button to begin.
  composer.command('start', (ctx) => ctx.reply(WELCOME_HTML, { parse_mode: 'HTML', reply_markup: new InlineKeyboard().text('Connect a provider', 'menu') }))

  composer.command('connections', async (ctx) => {
    const auth = await readAuth(deps, ctx)
    if (!auth) return
    const now = deps.clock.now()
    const ids = new Set([...Object.keys(auth).filter((k) => asOAuthEntry(auth[k])), ...listConnections(deps.db).map((c) => c.provider)])
    const lines: string[] = []
    const keyboard = new InlineKeyboard()
    for (const id of [...ids].sort()) {
      const entry = asOAuthEntry(auth[id])
      if (!entry) continue
      const connection = getConnection(deps.db, id)
      lines.push(connectionLine(name(id), entry, connection, now))
      if (connection?.status === 'needs_reauth' && Object.hasOwn(deps.config.providers, id)) keyboard.text(`Reconnect ${name(id)}`, `c:${id}`).row()
    }
    if (!lines.length) return ctx.reply('Nothing is connected yet. Send "connect <provider>", or "connect" to choose.')
    // An InlineKeyboard starts with one empty row: only send it when a button was added.
    return ctx.reply(lines.join('\n'), hasButtons(keyboard) ? { reply_markup: keyboard } : {})
  })

  composer.command('providers', async (ctx) => {
    const auth = (await readAuth(deps, ctx)) ?? {}
    const lines = Object.values(deps.config.providers)
      .sort((a, b) => a.providerId.localeCompare(b.providerId))
      .map((p) => {
        const state = asOAuthEntry(auth[p.providerId])
          ? 'connected'
          : withStoredCredentials(deps.db, p).clientId !== undefined
            ? 'ready to connect'
            : 'needs a client id (connect asks for it)'
        const from = isConfiguredId(deps.config, deps.db, p.providerId) ? undefined : getDiscovered(deps.db, p.providerId)?.url
        return `${p.providerId}: ${p.displayName}, ${state}${p.redirectMode === 'paste' ? ' (you paste the code back)' : ''}${from ? ` (from ${from})` : ''}`
      })
    return ctx.reply(lines.join('\n'))
  })

  /** The question for one provider, with its buttons; undefined when there is nothing to disconnect. */
  const disconnectQuestion = (auth: AuthFile, id: string): { text: string; keyboard: InlineKeyboard } | undefined => {
    const connected = asOAuthEntry(auth[id]) !== undefined || getConnection(deps.db, id) !== undefined
    const stored = getCredentials(deps.db, id) !== undefined
    if (!connected && !stored) return undefined
    const revocable = getProvider(deps.config, id).revocationUrl !== undefined
    // A connection made by URL: the client latchkey registered there is deleted only when asked.
    const client = connected ? forgettableClient(deps, id) : undefined
    const keyboard = new InlineKeyboard()
    if (connected) keyboard.text('Disconnect', `d:y:${id}`).row()
    if (client) keyboard.text(`Disconnect and delete latchkey's client at ${hostOf(client.issuer)}`, `d:c:${id}`).row()
    if (stored) keyboard.text(connected ? 'Disconnect and forget the client id and secret' : 'Forget the client id and secret', `d:f:${id}`).row()
    keyboard.text('Cancel', `d:n:${id}`)
    const text = connected
      ? `Disconnect ${name(id)}? Its tokens are removed from auth.json${revocable ? ` and revoked at ${name(id)}` : ''}.`
      : `${name(id)} is not connected, but its client id and secret are stored. Forget them?`
    return { text, keyboard }
  }

  composer.command('disconnect', async (ctx) => {
    const typed = ctx.match.trim()
    const auth = await readAuth(deps, ctx)
    if (!auth) return
    if (!typed) {
      // Like /connect: one button per provider there is something to disconnect for.
      const keyboard = new InlineKeyboard()
      const ids = Object.keys(deps.config.providers).filter((id) => disconnectQuestion(auth, id) !== undefined).sort()
      ids.forEach((id, i) => {
        keyboard.text(name(id), `x:${id}`)
        if (i % 2 === 1) keyboard.row()
      })
      if (!ids.length) return ctx.reply('Nothing is connected, so there is nothing to disconnect.')
      return ctx.reply('Disconnect which provider?', { reply_markup: keyboard.row().text('Cancel', 'x:-') })
    }
    const id = findProviderId(deps, typed)
    if (!id) return ctx.reply(`I don't know the provider "${typed.slice(0, 40)}".`)
    const question = disconnectQuestion(auth, id)
    if (!question) return ctx.reply(`${name(id)} is not connected.`)
    return ctx.reply(question.text, { reply_markup: question.keyboard })
  })

  // A choice in the /disconnect menu: the menu message becomes that provider's question.
  composer.callbackQuery(/^x:(-|[a-z0-9-]{1,40})$/, async (ctx) => {
    await ctx.answerCallbackQuery()
    const id = ctx.match[1] as string
    if (id === '-') return ctx.editMessageText('Nothing was disconnected.')
    const auth = await readAuth(deps, ctx)
    if (!auth) return
    const question = Object.hasOwn(deps.config.providers, id) ? disconnectQuestion(auth, id) : undefined
    if (!question) return ctx.editMessageText(`${name(id)} is not connected any more.`)
    return ctx.editMessageText(question.text, { reply_markup: question.keyboard })
  })

  composer.callbackQuery(/^d:([yfcn]):([a-z0-9-]{1,40})$/, async (ctx) => {
    await ctx.answerCallbackQuery()
    const [, choice, id] = ctx.match as unknown as [string, 'y' | 'f' | 'c' | 'n', string]
    const messageId = ctx.callbackQuery.message?.message_id
    const chatId = ctx.chat?.id as number
    const edit = (text: string) => (messageId === undefined ? ctx.reply(text) : ctx.api.editMessageText(chatId, messageId, text))
    if (!Object.hasOwn(deps.config.providers, id)) return edit(`I don't know the provider "${id}" any more.`)
    if (choice === 'n') return edit(`Kept ${name(id)} as it was.`)
    const outcome = await disconnectProvider(deps, id, { forgetCredentials: choice === 'f', forgetClient: choice === 'c' })
    return edit(describeDisconnect(name(id), outcome))
  })

  return composer
}
