import { InlineKeyboard } from 'grammy'
import type { BotCommand } from 'grammy/types'
import type { Integration } from '../integrations/types.js'
import { escapeHtml } from '../http/pages.js'

/** Escapes text for Telegram's parse_mode HTML (the same five characters as for a page). */
export const html = escapeHtml

/** /start: what the bot is for, before anything else (parse_mode HTML). */
export const WELCOME_HTML = [
  '<b>latchkey</b> connects your AI agent to your accounts (Dexcom, Oura, GitHub, Google and other OAuth providers) without the agent ever holding a password or a token.',
  '',
  'You approve each connection in your browser; latchkey keeps the tokens fresh on this machine and tells you here when one needs you.',
  '',
  'Tap <b>Connect a provider</b> to begin, or send /help for every command.',
].join('\n')

/** False for grammY's fresh InlineKeyboard (one empty row), which Telegram shows as nothing at all. */
export function hasButtons(keyboard: InlineKeyboard): boolean {
  return keyboard.inline_keyboard.some((row) => row.length > 0)
}

/** The core command menu; `commandMenu` adds each integration's commands. */
const CORE_COMMANDS: BotCommand[] = [
  { command: 'connect', description: 'Connect a provider: /connect dexcom' },
  { command: 'connections', description: 'What is connected, and its state' },
  { command: 'disconnect', description: 'Disconnect a provider: /disconnect dexcom' },
  { command: 'providers', description: 'Providers latchkey knows' },
  { command: 'agents', description: 'Agents allowed to use your connections' },
  { command: 'cancel', description: 'Leave the current step' },
  { command: 'help', description: 'What this bot does' },
]

/** The command menu (setMyCommands): the core's, then the integrations', then cancel and help. */
export function commandMenu(integrations: readonly Integration[]): BotCommand[] {
  const extra = integrations.flatMap((i) => i.chat?.commands ?? []).map(({ command, description }) => ({ command, description }))
  return [...CORE_COMMANDS.slice(0, -2), ...extra, ...CORE_COMMANDS.slice(-2)]
}

/** /help: the core lines, then one per integration command, then /cancel. */
export function helpText(integrations: readonly Integration[]): string {
  const extra = integrations.flatMap((i) => i.chat?.commands ?? []).map((c) => c.help)
  return [...HELP_LINES.slice(0, -1), ...extra, ...HELP_LINES.slice(-1)].join('\n')
}

const HELP_LINES = [
  'latchkey connects your agent to OAuth providers.',
  '',
  'connect <provider> (or /connect <provider>): connect one; "connect" alone lists them',
  '/connections: what is connected, token expiry and last refresh',
  '/disconnect <provider>: remove a connection (and revoke it at the provider when possible)',
  '/providers: every provider latchkey knows',
  '/agents: the agents allowed to call through latchkey, with a button to revoke each',
  '/cancel: leave the current step',
]

/**
 * "40 characters, ends …XY12": enough to recognise a secret, never enough to use it. Short
 * values show the length only.
 */
export function fingerprint(value: string): string {
  return `${value.length} characters${value.length >= 16 ? `, ends …${value.slice(-4)}` : ''}`
}

/** A one-tap connect button (callback data `c:<provider>`, at most 42 bytes). */
export function connectButton(label: string, providerId: string): InlineKeyboard {
  return new InlineKeyboard().text(label, `c:${providerId}`)
}

/** Messages carrying auth links: not forwardable or savable, and no preview fetch (oauth-security.md T4). */
export const LINK_OPTIONS = { protect_content: true, link_preview_options: { is_disabled: true } } as const
