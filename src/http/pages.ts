// The few HTML pages latchkey shows a browser: one small stylesheet, allowed by its hash in the
// CSP (no 'unsafe-inline', no external resource), and icons drawn as inline SVG so they look
// right even where the browser has no symbol font.
import { createHash } from 'node:crypto'

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }

/** HTML-escapes text for element content and quoted attributes. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ESCAPES[c] as string)
}

/** Phone first (390 × 844): one centred card, large type, a full-width button; dark mode too. */
export const PAGE_STYLESHEET = `:root{color-scheme:light dark;--fg:#1f2328;--muted:#59636e;--bg:#f6f8fa;--card:#fff;--ok:#1a7f37;--error:#cf222e;--expired:#9a6700;--info:#0969da}
@media (prefers-color-scheme:dark){:root{--fg:#e6edf3;--muted:#9198a1;--bg:#0d1117;--card:#161b22;--ok:#2ea043;--error:#da3633;--expired:#bb8009;--info:#1f6feb}}
*{box-sizing:border-box}
body{margin:0;min-height:100vh;padding:56px 16px;background:var(--bg);color:var(--fg);font:17px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif}
main{max-width:440px;margin:0 auto;padding:32px 24px;border-radius:16px;background:var(--card);text-align:center;box-shadow:0 1px 3px #0002}
.icon{display:block;width:64px;height:64px;margin:0 auto 16px}
.ok .icon{color:var(--ok)}.error .icon{color:var(--error)}.expired .icon{color:var(--expired)}.info .icon{color:var(--info)}
h1{margin:0 0 12px;font-size:24px;line-height:1.25}
p{margin:0 0 12px;color:var(--muted)}
p.detail{font-size:14px}
code{font:15px ui-monospace,Menlo,monospace;overflow-wrap:anywhere}
a.button{display:block;margin-top:24px;padding:14px;border-radius:12px;background:var(--info);color:#fff;font-weight:600;text-decoration:none}
`

const STYLE_HASH = `sha256-${createHash('sha256').update(PAGE_STYLESHEET).digest('base64')}`

/** Headers for every page we render (oauth-security.md B6): only our own stylesheet may apply. */
export const PAGE_HEADERS = {
  'content-type': 'text/html; charset=utf-8',
  'cache-control': 'no-store',
  'referrer-policy': 'no-referrer',
  'content-security-policy': `default-src 'none'; style-src '${STYLE_HASH}'; img-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'`,
  'x-content-type-options': 'nosniff',
} as const

/** ok ✓, error ✗, expired (a clock), info (i). */
export type PageTone = 'ok' | 'error' | 'expired' | 'info'

const ICONS: Record<PageTone, { label: string; body: string }> = {
  ok: { label: '✓', body: '<path d="M20 33l8 8 16-18" fill="none" stroke="currentColor" stroke-width="5" stroke-linecap="round" stroke-linejoin="round"/>' },
  error: { label: '✗', body: '<path d="M22 22l20 20M42 22L22 42" fill="none" stroke="currentColor" stroke-width="5" stroke-linecap="round"/>' },
  expired: { label: 'expired', body: '<path d="M32 18v15l9 6" fill="none" stroke="currentColor" stroke-width="5" stroke-linecap="round" stroke-linejoin="round"/>' },
  info: { label: 'i', body: '<path d="M32 29v15" stroke="currentColor" stroke-width="5" stroke-linecap="round"/><circle cx="32" cy="20" r="3.5" fill="currentColor"/>' },
}

export interface PageContent {
  tone: PageTone
  /** Plain text (escaped here), as is everything below. */
  title: string
  lines: string[]
  /** Small print under the text, e.g. the provider's error code. */
  detail?: string
  /** A button: "Back to Telegram" for flows started in the chat. */
  link?: { text: string; href: string }
}

/** A small self-contained page; no script, no external resource. */
export function renderPage(page: PageContent): string {
  const icon = ICONS[page.tone]
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex"><title>${escapeHtml(page.title)}</title><style>${PAGE_STYLESHEET}</style></head>
<body><main class="${page.tone}"><svg class="icon" viewBox="0 0 64 64" role="img" aria-label="${escapeHtml(icon.label)}"><circle cx="32" cy="32" r="29" fill="none" stroke="currentColor" stroke-width="4"/>${icon.body}</svg>
<h1>${escapeHtml(page.title)}</h1>${page.lines.map((l) => `<p>${escapeHtml(l)}</p>`).join('')}${page.detail ? `<p class="detail">${escapeHtml(page.detail)}</p>` : ''}${page.link ? `<a class="button" href="${escapeHtml(page.link.href)}">${escapeHtml(page.link.text)}</a>` : ''}</main></body></html>
`
}
