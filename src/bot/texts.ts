import { InlineKeyboard } from 'grammy'
import type { BotCommand } from 'grammy/types'

/** The command menu (setMyCommands). */
export const COMMANDS: BotCommand[] = [
  { command: 'connect', description: 'Connect a provider: /connect dexcom' },
  { command: 'connections', description: 'What is connected, and its state' },
  { command: 'disconnect', description: 'Disconnect a provider: /disconnect dexcom' },
  { command: 'providers', description: 'Providers latchkey knows' },
  { command: 'glucose', description: 'Latest Dexcom glucose and the last 24 h' },
  { command: 'cancel', description: 'Leave the current step' },
  { command: 'help', description: 'What this bot does' },
]

export const HELP_TEXT = [
  'latchkey connects your agent to OAuth providers.',
  '',
  'connect <provider> (or /connect <provider>): connect one; "connect" alone lists them',
  '/connections: what is connected, token expiry and last refresh',
  '/disconnect <provider>: remove a connection (and revoke it at the provider when possible)',
  '/providers: every provider latchkey knows',
  '/glucose: the latest Dexcom reading, time in range and a 24 h chart',
  '/cancel: leave the current step',
].join('\n')

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
