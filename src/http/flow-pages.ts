// What the browser is told at each end of a flow, worded for where the flow started: the chat
// (with a "Back to Telegram" button) or a terminal / another program. The pages of the callback's
// hot path (and every page that depends on nothing but the flow's context) are rendered once per
// provider, origin and link lifetime, then served from memory.
import type { Flow } from '../db/oauth-flows.js'
import { describeFailure } from '../oauth/report.js'
import { renderPage, type PageContent } from './pages.js'

export type FlowOrigin = 'chat' | 'terminal'

export interface PageContext {
  origin: FlowOrigin
  /** Provider id (for "connect <id>") and display name. */
  provider: string
  name: string
  /** https://t.me/<bot username>, once the bot knows its name. */
  telegramUrl: string | undefined
}

/** A flow with a chat id was started in the chat; any other by the CLI or a program with the API token. */
export function originOf(flow: Pick<Flow, 'chatId'>): FlowOrigin {
  return flow.chatId !== null ? 'chat' : 'terminal'
}

const sentence = (text: string) => `${text.charAt(0).toUpperCase()}${text.slice(1)}.`

function startAgain(c: PageContext): string {
  return c.origin === 'chat' ? `Send "connect ${c.provider}" in the chat for a new link.` : `Run "latchkey connect ${c.provider}" again for a new link.`
}

function back(c: PageContext): Pick<PageContent, 'link'> {
  return c.origin === 'chat' && c.telegramUrl ? { link: { text: 'Back to Telegram', href: c.telegramUrl } } : {}
}

/** Page contents by outcome; plain text only (renderPage escapes). */
export const FLOW_PAGES = {
  connected: (c: PageContext): PageContent => ({
    tone: 'ok',
    title: `${c.name} connected`,
    lines: [c.origin === 'chat' ? 'The chat has the confirmation. You can close this tab.' : 'Your terminal has the confirmation. You can close this tab.'],
    ...back(c),
  }),
  /** The code arrived; the exchange is still running when the page is due. */
  finishing: (c: PageContext): PageContent => ({
    tone: 'ok',
    title: `${c.name} approved`,
    lines: [`latchkey is finishing the connection; ${c.origin === 'chat' ? 'the chat' : 'your terminal'} will confirm it. You can close this tab.`],
    ...back(c),
  }),
  /** A client-exchanged flow: the program that started it fetches the code and exchanges it. */
  handedOver: (c: PageContext): PageContent => ({
    tone: 'ok',
    title: `${c.name} approved`,
    lines: ['The app that asked for this connection will finish it. You can close this tab.'],
  }),
  denied: (c: PageContext, said?: string): PageContent => ({
    tone: 'error',
    title: 'Nothing was connected',
    lines: [`You did not approve access at ${c.name}.`, startAgain(c)],
    ...(said ? { detail: `${c.name} said: “${said}”` } : {}),
    ...back(c),
  }),
  failed: (c: PageContext, error: string | null, said?: string): PageContent => ({
    tone: 'error',
    title: `${c.name} was not connected`,
    lines: [sentence(describeFailure(error, c.name)), startAgain(c)],
    detail: `${said ? `${c.name} said: “${said}”. ` : ''}Error code: ${error ?? 'unknown'}`,
    ...back(c),
  }),
  expired: (c: PageContext, minutes: number): PageContent => ({
    tone: 'expired',
    title: 'This link has expired',
    lines: [`Sign-in links work for ${minutes} minutes, and this one has run out. Nothing was stored at ${c.name} or here.`, startAgain(c)],
    ...back(c),
  }),
  used: (c: PageContext): PageContent => ({
    tone: 'error',
    title: 'This link was already used',
    lines: [`Each sign-in link works once. Nothing new was stored.`, startAgain(c)],
    ...back(c),
  }),
  wrongBrowser: (c: PageContext): PageContent => ({
    tone: 'error',
    title: 'Open the link in the browser you approve in',
    lines: ['This approval came back to a browser that did not open the sign-in link, so nothing was stored.', startAgain(c)],
    ...back(c),
  }),
  wrongIssuer: (c: PageContext): PageContent => ({
    tone: 'error',
    title: `This answer did not come from ${c.name}`,
    lines: ['It came from another server, so nothing was stored.', startAgain(c)],
    ...back(c),
  }),
} as const

/** No flow to go by: a state or flow id latchkey never issued (or long purged). */
export const INVALID_LINK_PAGE = renderPage({
  tone: 'error',
  title: 'This link is not valid',
  lines: ['latchkey does not know it: it may be incomplete, or from an attempt that ended long ago. Start again from the chat or the terminal where you began.'],
})

const cache = new Map<string, string>()
const CACHE_LIMIT = 1_000

function cached(key: string, render: () => PageContent): string {
  let html = cache.get(key)
  if (html === undefined) {
    html = renderPage(render())
    if (cache.size >= CACHE_LIMIT) cache.clear() // providers come and go with the config; never unbounded
    cache.set(key, html)
  }
  return html
}

const contextKey = (c: PageContext) => `${c.provider}\n${c.name}\n${c.origin}\n${c.telegramUrl ?? ''}`

/** Outcomes whose page depends only on the context (no provider-supplied text). */
export type FixedFlowPage = 'connected' | 'finishing' | 'handedOver' | 'used' | 'wrongBrowser' | 'wrongIssuer'

/** The page for a fixed outcome, rendered once per provider, origin and bot link. */
export function cachedFlowPage(kind: FixedFlowPage, c: PageContext): string {
  return cached(`${kind}\n${contextKey(c)}`, () => FLOW_PAGES[kind](c))
}

/** The expired-link page, rendered once per context and link lifetime. */
export function cachedExpiredPage(c: PageContext, minutes: number): string {
  return cached(`expired\n${minutes}\n${contextKey(c)}`, () => FLOW_PAGES.expired(c, minutes))
}
