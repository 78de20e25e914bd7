import { Composer, InlineKeyboard, type Api, type Context } from 'grammy'
import type { Deps } from '../deps.js'
import { clearChatState, getChatState, setChatState, type ChatState } from '../db/bot-state.js'
import { consumeWaitingFlow, getFlowById, setFlowMessage } from '../db/oauth-flows.js'
import { saveCredentials } from '../db/provider-credentials.js'
import { prepareUrlConnection } from '../discovery/connect-url.js'
import { isAppError } from '../errors.js'
import { startDeviceFlow } from '../oauth/device.js'
import { startFlow } from '../oauth/flow.js'
import { stepUpScopes } from '../oauth/step-up.js'
import { withStoredCredentials } from '../providers/credentials.js'
import { findProvider, getProvider } from '../providers/lookup.js'
import type { Provider } from '../providers/schema.js'
import { acceptPaste } from './paste-code.js'
import { LINK_OPTIONS, fingerprint, html } from './texts.js'

/** A half-finished credentials dialog is forgotten after this long (registering an app takes a while). */
export const CHAT_STATE_TTL_MS = 30 * 60 * 1000

const CLIENT_ID_PATTERN = /^[\x21-\x7e]{1,512}$/
const CLIENT_SECRET_PATTERN = /^[\x21-\x7e]{1,2048}$/

/** The configured provider id the user meant (ids are lower-case; the user may type any case). */
export function findProviderId(deps: Pick<Deps, 'config'>, typed: string): string | undefined {
  const id = typed.trim().toLowerCase()
  return Object.hasOwn(deps.config.providers, id) ? id : undefined
}

function knownList(deps: Pick<Deps, 'config'>): string {
  return Object.keys(deps.config.providers).sort().join(', ')
}

/** Deletes a message the user sent (it holds a secret or a code); true only when Telegram confirmed. */
async function deleteUserMessage(ctx: Context): Promise<boolean> {
  const chatId = ctx.chat?.id
  const messageId = ctx.message?.message_id
  if (chatId === undefined || messageId === undefined) return false
  return ctx.api.deleteMessage(chatId, messageId).then(
    (ok) => ok === true,
    () => false,
  )
}

const PLEASE_DELETE =
  '⚠️ I could not delete your message: please delete it yourself. Deleting does not reach notification previews or other devices, so if in doubt, rotate the secret at the provider.'

export interface ConnectLinkOptions {
  /** The agent that asked (through MCP): the message says so first. */
  agent?: string
  /** A line under the waiting text (connect <url>: where the user will sign in). */
  note?: string
  /** Scopes to ask for instead of the provider's (a re-consent with more scopes). */
  scopes?: readonly string[]
}

/** The flow a connect link belongs to, and the link itself. */
export interface SentLink {
  flowId: string
  state: string
  link: string
}

function askedBy(opts: ConnectLinkOptions): string {
  return opts.agent ? `🤖 The agent "${opts.agent}" asks you to connect this.\n\n` : ''
}

/**
 * Starts a flow for this chat and sends its link: a URL button to /oauth/start/<flow> (or, in
 * paste mode, straight to the provider), protected from forwarding and without a link preview
 * (oauth-security.md T4). The message id is stored on the flow so its result edits this message.
 */
export async function sendConnectLink(deps: Deps, api: Api, chatId: number, provider: Provider, opts: ConnectLinkOptions = {}): Promise<SentLink | undefined> {
  const name = provider.displayName
  if (provider.redirectMode === 'device') return sendDeviceCode(deps, api, chatId, provider, opts)
  const flow = startFlow(deps, { provider: provider.providerId, chatId, ...(opts.scopes ? { scopes: opts.scopes } : {}) })
  const paste = provider.redirectMode === 'paste'
  const keyboard = new InlineKeyboard().url(`Open ${name}`, paste ? flow.authorizationUrl : flow.startUrl)
  if (!paste) keyboard.row().text('Can’t open the link?', `p:${flow.flowId}`)
  // A provider with a device endpoint (GitHub, Google) can also sign in with a code (RFC 8628), but
  // only if its app allows it (GitHub: "Enable Device Flow"): so a code is offered here, one tap
  // away, and only `redirectMode: "device"` in the config makes it the default.
  if (provider.deviceAuthorizationUrl) keyboard.row().text('Use a code instead', `u:${flow.flowId}`)
  const minutes = Math.round((flow.expiresAt - deps.clock.now()) / 60_000)
  const text =
    askedBy(opts) +
    `${name}: waiting for you to approve… (expires in ${minutes} min)` +
    (opts.note ? `\n\n${opts.note}` : '') +
    (paste ? `\n\nAfter approving, paste here the code ${name} shows, or the whole address your browser landed on.` : '')
  const sent = await api.sendMessage(chatId, text, { reply_markup: keyboard, ...LINK_OPTIONS })
  setFlowMessage(deps.db, flow.flowId, chatId, sent.message_id)
  if (paste) setChatState(deps.db, { chatId, step: 'paste', provider: provider.providerId, clientId: null, flowId: flow.flowId, updatedAt: deps.clock.now() })
  deps.log.info({ provider: provider.providerId, flowId: flow.flowId, paste, ...(opts.agent ? { agent: opts.agent } : {}) }, 'flow started from the chat')
  return { flowId: flow.flowId, state: flow.state, link: paste ? flow.authorizationUrl : flow.startUrl }
}

/**
 * Device mode (RFC 8628): the bot shows the verification page as a button and the user code to
 * type there; the resolve job polls the token endpoint and the result edits this message.
 */
async function sendDeviceCode(deps: Deps, api: Api, chatId: number, provider: Provider, opts: ConnectLinkOptions = {}): Promise<SentLink | undefined> {
  const name = provider.displayName
  let device
  try {
    device = await startDeviceFlow(deps, { provider: provider.providerId, chatId, ...(opts.scopes ? { scopes: opts.scopes } : {}) })
  } catch (err) {
    if (!isAppError(err)) throw err
    await api.sendMessage(chatId, `${askedBy(opts)}❌ ${name} did not start device sign-in: ${err.message}`)
    return undefined
  }
  const minutes = Math.round((device.expiresAt - deps.clock.now()) / 60_000)
  const keyboard = new InlineKeyboard().url(`Open ${name}`, device.verificationUriComplete ?? device.verificationUri)
  const text = `${askedBy(opts)}${name}: open ${device.verificationUri} and enter the code\n\n${device.userCode}\n\nwaiting for you to approve… (expires in ${minutes} min)`
  const sent = await api.sendMessage(chatId, text, { reply_markup: keyboard, ...LINK_OPTIONS })
  setFlowMessage(deps.db, device.flowId, chatId, sent.message_id)
  deps.log.info({ provider: provider.providerId, flowId: device.flowId }, 'device flow started from the chat')
  return { flowId: device.flowId, state: device.state, link: device.verificationUriComplete ?? device.verificationUri }
}

/**
 * `connect <url>`: discovery and registration (src/discovery/), then the link, naming where the
 * user will sign in since the authorization server may not be the MCP server. A server with no
 * dynamic registration gets the client-id dialog; a refused one a plain message, nothing stored.
 */
async function connectUrl(deps: Deps, ctx: Context, url: string): Promise<void> {
  const chatId = ctx.chat?.id as number
  clearChatState(deps.db, chatId)
  let prepared
  try {
    prepared = await prepareUrlConnection(deps, url)
  } catch (err) {
    if (!isAppError(err)) throw err
    await ctx.reply(`❌ Cannot connect ${url.slice(0, 200)}: ${err.message}`, { link_preview_options: { is_disabled: true } })
    return
  }
  const { provider, signInHost, serverHost } = prepared
  if (prepared.kind === 'needs_client') {
    setChatState(deps.db, { chatId, step: 'client_id', provider: provider.providerId, clientId: null, flowId: null, updatedAt: deps.clock.now() })
    await ctx.reply(
      `${serverHost} signs in at ${signInHost}, which does not register apps automatically. Register one there` +
        `${prepared.registrationPage ? ` (${prepared.registrationPage})` : ''} with this redirect URI:\n${deps.config.redirectUri}\n\n` +
        `Send me the app's client id. (/cancel to stop.) This connection's id is ${provider.providerId}.`,
      { link_preview_options: { is_disabled: true } },
    )
    return
  }
  const note = `You'll sign in at ${signInHost} for ${serverHost}. This connection's id is ${provider.providerId}.`
  try {
    await sendConnectLink(deps, ctx.api, chatId, provider, { note })
  } catch (err) {
    if (!isAppError(err)) throw err
    await ctx.reply(err.message)
  }
}

/**
 * Providers offered in the menu: all configured ones but sandboxes (a developer's test servers),
 * which appear only once they have a client id or an integration syncs from them.
 */
export function menuProviders(deps: Pick<Deps, 'config' | 'db' | 'integrations'>): Provider[] {
  const synced = new Set(deps.integrations.flatMap((i) => i.providerIds(deps.config)))
  return Object.values(deps.config.providers)
    .filter((p) => !p.providerId.endsWith('-sandbox') || synced.has(p.providerId) || withStoredCredentials(deps.db, p).clientId !== undefined)
    .sort((a, b) => a.displayName.localeCompare(b.displayName))
}

/** "Which provider?" with a button per provider (callback `m:<id>`: the menu is edited once chosen). */
async function sendMenu(deps: Pick<Deps, 'config' | 'db' | 'integrations'>, ctx: Context): Promise<void> {
  const keyboard = new InlineKeyboard()
  menuProviders(deps).forEach((p, i) => {
    keyboard.text(p.displayName, `m:${p.providerId}`)
    if (i % 2 === 1) keyboard.row()
  })
  await ctx.reply('Which provider?', { reply_markup: keyboard })
}

/** Takes the buttons off the message a button was tapped on, so no stale button stays live. */
async function retireButtons(deps: Pick<Deps, 'log'>, ctx: Context, text?: string): Promise<void> {
  const edit = text === undefined ? ctx.editMessageReplyMarkup({ reply_markup: undefined }) : ctx.editMessageText(text)
  await edit.catch((err: unknown) => deps.log.warn({ reason: (err as Error).message }, 'could not retire the buttons of a message'))
}

/** `connect <provider>` (or `connect <url>`): asks for client credentials when there are none, else sends the link. */
async function connect(deps: Deps, ctx: Context, typed: string): Promise<void> {
  const chatId = ctx.chat?.id as number
  if (/^https?:\/\//i.test(typed.trim())) return connectUrl(deps, ctx, typed.trim())
  if (!typed.trim()) {
    await sendMenu(deps, ctx)
    return
  }
  const id = findProviderId(deps, typed)
  if (!id) {
    await ctx.reply(`I don't know the provider "${typed.trim().slice(0, 40)}". Known providers: ${knownList(deps)}.`)
    return
  }
  clearChatState(deps.db, chatId)
  const provider = withStoredCredentials(deps.db, getProvider(deps.config, id))
  if (provider.clientId === undefined) {
    setChatState(deps.db, { chatId, step: 'client_id', provider: id, clientId: null, flowId: null, updatedAt: deps.clock.now() })
    // HTML, so that the redirect URI is one tap to copy; everything interpolated is escaped.
    await ctx.reply(
      `${html(provider.displayName)} needs an app registered with it${provider.docsUrl ? ` (${html(provider.docsUrl)})` : ''}, ` +
        `with this redirect URI (tap to copy):\n<code>${html(deps.config.redirectUri)}</code>\n\nSend me the app's client id. (/cancel to stop.)`,
      { parse_mode: 'HTML', link_preview_options: { is_disabled: true } },
    )
    return
  }
  try {
    await sendConnectLink(deps, ctx.api, chatId, provider)
  } catch (err) {
    if (!isAppError(err)) throw err
    await ctx.reply(err.message) // AppError messages are written for the user and hold no secret
  }
}

async function onClientId(deps: Deps, ctx: Context, state: ChatState, text: string): Promise<void> {
  const clientId = text.trim()
  const name = getProvider(deps.config, state.provider).displayName
  if (!CLIENT_ID_PATTERN.test(clientId)) {
    await ctx.reply('That does not look like a client id (one word, up to 512 characters). Send it again, or /cancel.')
    return
  }
  setChatState(deps.db, { ...state, step: 'client_secret', clientId, updatedAt: deps.clock.now() })
  await ctx.reply(
    `Client id received. Now send the client secret for ${name}: I will delete your message as soon as it arrives.` +
      (canSkipSecret(deps, state.provider) ? ' (If the app has no secret, a public client using PKCE, send /skip.)' : ''),
  )
}

/** Saves the credentials; the secret goes from the update straight to SQLite, never to chat state. */
async function finishCredentials(deps: Deps, ctx: Context, state: ChatState, secret: string | null, note: string): Promise<void> {
  const chatId = ctx.chat?.id as number
  deps.db.transaction(() => {
    saveCredentials(deps.db, { provider: state.provider, clientId: state.clientId as string, clientSecret: secret, updatedAt: deps.clock.now() })
    clearChatState(deps.db, chatId)
  })()
  deps.log.info({ provider: state.provider }, 'client credentials stored from the chat')
  await ctx.reply(note)
  const provider = withStoredCredentials(deps.db, getProvider(deps.config, state.provider))
  await sendConnectLink(deps, ctx.api, chatId, provider)
}

async function onClientSecret(deps: Deps, ctx: Context, state: ChatState, text: string): Promise<void> {
  // Delete first: the message holds the secret (oauth-security.md T2).
  const deleted = await deleteUserMessage(ctx)
  const secret = text.trim()
  if (!CLIENT_SECRET_PATTERN.test(secret)) {
    await ctx.reply(
      `That does not look like a client secret (one word, up to 2048 characters). ${deleted ? 'I deleted your message. ' : `${PLEASE_DELETE} `}Send it again, or /cancel.`,
    )
    return
  }
  const note = `🔒 Secret received, ${fingerprint(secret)}. ${deleted ? 'I deleted your message.' : PLEASE_DELETE}`
  await finishCredentials(deps, ctx, state, secret, note)
}

async function onPaste(deps: Deps, ctx: Context, state: ChatState, text: string): Promise<void> {
  const chatId = ctx.chat?.id as number
  const deleted = await deleteUserMessage(ctx) // it holds an authorization code
  const flow = state.flowId ? getFlowById(deps.db, state.flowId) : undefined
  const name = getProvider(deps.config, state.provider).displayName
  if (!flow || flow.chatId !== chatId) {
    clearChatState(deps.db, chatId)
    await ctx.reply(`That connection attempt is over. Start again with "connect ${state.provider}".`)
    return
  }
  const result = acceptPaste(deps, flow.id, text)
  if (result.kind !== 'rejected' || result.reason === 'flow_gone') clearChatState(deps.db, chatId)
  const deletion = deleted ? '' : ' I could not delete your message with the code: please delete it yourself.'
  if (result.kind === 'received') {
    deps.log.info({ provider: flow.provider, flowId: flow.id }, 'code pasted in the chat')
    if (!deleted) await ctx.reply(deletion.trim())
    return
  }
  if (result.kind === 'provider_error') {
    if (!deleted) await ctx.reply(deletion.trim())
    return
  }
  const why = {
    flow_gone: `That link has expired or was already used. Start again with "connect ${state.provider}".`,
    state_mismatch: 'That address belongs to a different connection attempt (its state does not match), so I ignored it. Paste the address from this attempt, or /cancel.',
    issuer_mismatch: `That address came from a server other than ${name}, so I ignored it. Paste the address from this attempt, or /cancel.`,
    not_a_code: `That does not look like a code or an address from ${name}${result.detail ? ` (${result.detail})` : ''}, so the link is still open: paste the code ${name} shows, or the whole address your browser landed on, or /cancel.`,
  }[result.reason]
  await ctx.reply(why + deletion)
}

/** A public client (no secret) is only usable with PKCE. */
function canSkipSecret(deps: Pick<Deps, 'config'>, providerId: string): boolean {
  return getProvider(deps.config, providerId).usePkce
}

/** A text answering the dialog's current step (client id, client secret, or a pasted code). */
async function onDialogMessage(deps: Deps, ctx: Context, state: ChatState, text: string): Promise<void> {
  if (state.step !== 'paste' && deps.clock.now() - state.updatedAt > CHAT_STATE_TTL_MS) {
    clearChatState(deps.db, state.chatId)
    // The user was probably answering the secret question: do not leave it in the chat.
    const deleted = state.step === 'client_secret' ? await deleteUserMessage(ctx) : false
    await ctx.reply(
      `I stopped waiting for the ${state.step === 'client_id' ? 'client id' : 'client secret'} (more than ${CHAT_STATE_TTL_MS / 60_000} min passed), so nothing was saved.` +
        `${deleted ? ' I deleted your message.' : ''} Start again with "connect ${state.provider}".`,
    )
    return
  }
  if (state.step === 'client_id') return onClientId(deps, ctx, state, text)
  if (state.step === 'client_secret') return onClientSecret(deps, ctx, state, text)
  return onPaste(deps, ctx, state, text)
}

/** connect, the credentials dialog, paste mode and /cancel. */
export function connectComposer(deps: Deps): Composer<Context> {
  const composer = new Composer<Context>()

  // A secret may start with "/" or read like "connect x": while a secret is awaited, every text
  // but /cancel and /skip is the secret, so it is deleted, never answered as a command. (A dialog
  // left for longer than its TTL awaits nothing: a command then is a command.)
  composer.on('message:text', async (ctx, next) => {
    const text = ctx.message.text
    const state = getChatState(deps.db, ctx.chat.id)
    if (state?.step !== 'client_secret' || /^\/(cancel|skip)(@\w+)?$/i.test(text.trim())) return next()
    if (text.startsWith('/') && deps.clock.now() - state.updatedAt > CHAT_STATE_TTL_MS) return next()
    return onDialogMessage(deps, ctx, state, text)
  })

  composer.command('connect', (ctx) => connect(deps, ctx, ctx.match))
  composer.hears(/^\s*connect(?:\s+(\S+))?\s*$/i, (ctx) => connect(deps, ctx, ctx.match[1] ?? ''))
  // "Reconnect" / "Try again" under a report: the report stays, its button goes.
  composer.callbackQuery(/^c:([a-z0-9-]{1,40})$/, async (ctx) => {
    await ctx.answerCallbackQuery()
    await retireButtons(deps, ctx)
    await connect(deps, ctx, ctx.match[1] ?? '')
  })
  // "Approve more access" under an insufficient_scope notice: a flow asking for the larger set.
  composer.callbackQuery(/^s:([a-z0-9-]{1,40})$/, async (ctx) => {
    await ctx.answerCallbackQuery()
    await retireButtons(deps, ctx)
    const id = ctx.match[1] ?? ''
    const found = findProvider(deps.config, id)
    const scopes = found && stepUpScopes(deps.db, id)
    if (!found || !scopes) {
      await ctx.reply(`${found?.displayName ?? id} is not connected any more, so there is no access to widen. Send "connect ${id}" to connect it.`)
      return
    }
    try {
      await sendConnectLink(deps, ctx.api, ctx.chat?.id as number, withStoredCredentials(deps.db, found), { scopes, note: `Asking for: ${scopes.join(', ')}.` })
    } catch (err) {
      if (!isAppError(err)) throw err
      await ctx.reply(err.message)
    }
  })
  // A choice in the menu: the menu becomes "Connect: Acme", with no buttons left.
  composer.callbackQuery(/^m:([a-z0-9-]{1,40})$/, async (ctx) => {
    await ctx.answerCallbackQuery()
    const id = ctx.match[1] ?? ''
    await retireButtons(deps, ctx, `Connect: ${findProvider(deps.config, id)?.displayName ?? id}`)
    await connect(deps, ctx, id)
  })
  // "Connect a provider" under the /start welcome.
  composer.callbackQuery('menu', async (ctx) => {
    await ctx.answerCallbackQuery()
    await retireButtons(deps, ctx)
    await sendMenu(deps, ctx)
  })

  composer.command('cancel', async (ctx) => {
    const cleared = clearChatState(deps.db, ctx.chat.id)
    await ctx.reply(cleared ? 'Cancelled.' : 'Nothing to cancel.')
  })

  composer.command('skip', async (ctx, next) => {
    const state = getChatState(deps.db, ctx.chat.id)
    if (state?.step !== 'client_secret') return next()
    // Without PKCE a public client is no client at all: the token endpoint would answer invalid_client.
    if (!canSkipSecret(deps, state.provider)) {
      const name = getProvider(deps.config, state.provider).displayName
      await ctx.reply(`${name} does not use PKCE, so it needs the client secret. Send it, or /cancel.`)
      return
    }
    await finishCredentials(deps, ctx, state, null, 'No client secret: latchkey will use a public client with PKCE.')
  })

  // "Can't open the link?": the same flow, with a direct link and the code pasted back here.
  composer.callbackQuery(/^p:([A-Za-z0-9_-]{43})$/, async (ctx) => {
    const chatId = ctx.chat?.id as number
    const flow = getFlowById(deps.db, ctx.match[1] ?? '')
    if (!flow || flow.chatId !== chatId || flow.status !== 'waiting' || flow.expiresAt <= deps.clock.now()) {
      await ctx.answerCallbackQuery({ text: 'That link has expired or was already used.' })
      return
    }
    await ctx.answerCallbackQuery()
    const name = getProvider(deps.config, flow.provider).displayName
    setChatState(deps.db, { chatId, step: 'paste', provider: flow.provider, clientId: null, flowId: flow.id, updatedAt: deps.clock.now() })
    await ctx.reply(
      `Open this link, approve at ${name}, then paste here the whole address your browser lands on (it may fail to load; copy it anyway), or the code ${name} shows.`,
      { reply_markup: new InlineKeyboard().url(`Open ${name}`, flow.authorizationUrl), ...LINK_OPTIONS },
    )
  })

  // "Use a code instead": end the browser flow first (compare-and-set, so a callback arriving now
  // cannot also connect), then start a device flow whose result edits a new message.
  composer.callbackQuery(/^u:([A-Za-z0-9_-]{43})$/, async (ctx) => {
    const chatId = ctx.chat?.id as number
    const flow = getFlowById(deps.db, ctx.match[1] ?? '')
    const ended =
      flow !== undefined && flow.chatId === chatId && consumeWaitingFlow(deps.db, flow.state, deps.clock.now(), { status: 'failed', error: 'superseded', finished: true })
    if (!flow || !ended) {
      await ctx.answerCallbackQuery({ text: 'That link has expired or was already used.' })
      return
    }
    await ctx.answerCallbackQuery()
    if (getChatState(deps.db, chatId)?.flowId === flow.id) clearChatState(deps.db, chatId)
    const provider = withStoredCredentials(deps.db, getProvider(deps.config, flow.provider))
    if (flow.messageId !== null)
      await ctx.api.editMessageText(chatId, flow.messageId, `${provider.displayName}: using a code instead (below).`).catch((err: unknown) => {
        deps.log.warn({ flowId: flow.id, reason: (err as Error).message }, 'could not edit the link message')
      })
    await sendDeviceCode(deps, ctx.api, chatId, provider)
  })

  composer.on('message:text', async (ctx, next) => {
    const text = ctx.message.text
    if (text.startsWith('/')) return next()
    const state = getChatState(deps.db, ctx.chat.id)
    if (!state) return next()
    return onDialogMessage(deps, ctx, state, text)
  })

  return composer
}
