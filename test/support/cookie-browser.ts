// A tiny non-JS "browser": follows redirects by hand and keeps cookies per host.
//
// Cookie handling is a small subset of RFC 6265: name=value, Path (with the default-path rule),
// Max-Age / Expires (including deletion) and Secure. Domain is ignored: every cookie is
// host-only, keyed by hostname (cookies do not isolate ports). Like Chrome, http://127.x.x.x,
// http://[::1] and http://localhost count as secure contexts, so they may set and receive
// Secure cookies.

export interface BrowserResponse {
  url: string
  status: number
  headers: Record<string, string | string[] | undefined>
  body: string
}

export interface GetOptions {
  maxHops?: number
  // Stop before following a redirect to a URL this returns true for; the redirect response
  // itself (with its Location header) is returned.
  stopAt?: (url: string) => boolean
}

interface StoredCookie {
  name: string
  value: string
  path: string
  secure: boolean
  expiresAt?: number
}

const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308])

export class CookieBrowser {
  readonly #jar = new Map<string, StoredCookie[]>()

  async get(url: string, opts: GetOptions = {}): Promise<BrowserResponse> {
    const maxHops = opts.maxHops ?? 10
    let current = url
    for (let hop = 0; ; hop++) {
      const cookie = this.cookiesFor(current)
      const res = await fetch(current, {
        redirect: 'manual',
        headers: cookie === '' ? {} : { cookie },
      })
      this.#store(current, res.headers.getSetCookie())
      const response: BrowserResponse = {
        url: current,
        status: res.status,
        headers: toRecord(res.headers),
        body: await res.text(),
      }
      const location = res.headers.get('location')
      if (!REDIRECT_STATUSES.has(res.status) || location === null) return response
      const next = new URL(location, current).href
      if (opts.stopAt?.(next)) return response
      if (hop >= maxHops) throw new Error(`CookieBrowser: more than ${maxHops} redirects starting at ${url}`)
      current = next
    }
  }

  cookiesFor(url: string): string {
    const target = new URL(url)
    const secure = isSecureContext(target)
    const now = Date.now()
    const cookies = (this.#jar.get(target.hostname) ?? []).filter(
      (c) => (c.expiresAt === undefined || c.expiresAt > now) && (!c.secure || secure) && pathMatches(target.pathname, c.path),
    )
    // RFC 6265 §5.4: longer paths first.
    cookies.sort((a, b) => b.path.length - a.path.length)
    return cookies.map((c) => `${c.name}=${c.value}`).join('; ')
  }

  #store(url: string, setCookies: string[]): void {
    const origin = new URL(url)
    const now = Date.now()
    const jar = (this.#jar.get(origin.hostname) ?? []).filter((c) => c.expiresAt === undefined || c.expiresAt > now)
    for (const line of setCookies) {
      const cookie = parseSetCookie(line, origin, now)
      if (!cookie) continue
      // A non-secure origin may neither set nor overwrite Secure cookies.
      if (!isSecureContext(origin) && (cookie.secure || jar.some((c) => c.name === cookie.name && c.secure))) continue
      const index = jar.findIndex((c) => c.name === cookie.name && c.path === cookie.path)
      if (index >= 0) jar.splice(index, 1)
      if (cookie.expiresAt === undefined || cookie.expiresAt > now) jar.push(cookie)
    }
    this.#jar.set(origin.hostname, jar)
  }
}

function parseSetCookie(line: string, origin: URL, now: number): StoredCookie | undefined {
  const [pair = '', ...attributes] = line.split(';')
  const eq = pair.indexOf('=')
  if (eq < 0) return undefined
  const name = pair.slice(0, eq).trim()
  if (name === '') return undefined
  const cookie: StoredCookie = { name, value: pair.slice(eq + 1).trim(), path: defaultPath(origin.pathname), secure: false }
  let maxAge: number | undefined
  let expires: number | undefined
  for (const attribute of attributes) {
    const i = attribute.indexOf('=')
    const key = (i < 0 ? attribute : attribute.slice(0, i)).trim().toLowerCase()
    const value = i < 0 ? '' : attribute.slice(i + 1).trim()
    if (key === 'path' && value.startsWith('/')) cookie.path = value
    else if (key === 'secure') cookie.secure = true
    else if (key === 'max-age' && /^-?\d+$/.test(value)) maxAge = Number(value)
    else if (key === 'expires') {
      const t = Date.parse(value)
      if (!Number.isNaN(t)) expires = t
    }
  }
  // Max-Age wins over Expires; Max-Age <= 0 means "expire now".
  if (maxAge !== undefined) cookie.expiresAt = maxAge <= 0 ? 0 : now + maxAge * 1000
  else if (expires !== undefined) cookie.expiresAt = expires
  return cookie
}

// RFC 6265 §5.1.4
function defaultPath(pathname: string): string {
  if (!pathname.startsWith('/')) return '/'
  const last = pathname.lastIndexOf('/')
  return last <= 0 ? '/' : pathname.slice(0, last)
}

function pathMatches(requestPath: string, cookiePath: string): boolean {
  if (requestPath === cookiePath) return true
  if (!requestPath.startsWith(cookiePath)) return false
  return cookiePath.endsWith('/') || requestPath[cookiePath.length] === '/'
}

function isSecureContext(url: URL): boolean {
  if (url.protocol === 'https:') return true
  const host = url.hostname
  return /^127\.\d+\.\d+\.\d+$/.test(host) || host === '[::1]' || host === 'localhost' || host.endsWith('.localhost')
}

function toRecord(headers: Headers): Record<string, string | string[] | undefined> {
  const out: Record<string, string | string[] | undefined> = {}
  headers.forEach((value, name) => {
    if (name !== 'set-cookie') out[name] = value
  })
  const setCookie = headers.getSetCookie()
  if (setCookie.length > 0) out['set-cookie'] = setCookie
  return out
}
