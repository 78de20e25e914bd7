// A local Oura API v2 (token endpoint + the five collections latchkey syncs) for tests, the
// bench and `latchkey simulate oura`. Loopback only; shapes from oura-api.md §4, checklist §7:
// single-use refresh tokens, `data[]` + `next_token` pages, 401/429 with Retry-After, per-user
// granted scopes (one sandbox user unticked heartrate), no document for a day without the ring,
// and faults on request (5xx, a malformed body, a slow or held answer).
import { randomBytes } from 'node:crypto'
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { isLoopbackHost } from '../../url.js'

const DAY_MS = 86_400_000
/** Documents per page: small, so pagination is exercised. */
export const OURA_SIM_PAGE_SIZE = 50
/** Heart-rate samples per page (288 a day). */
export const OURA_SIM_HEARTRATE_PAGE_SIZE = 2000
export const ALL_SCOPES = ['email', 'personal', 'daily', 'heartrate', 'workout', 'tag', 'session', 'spo2'] as const

/** Sandbox users: scopes they granted and which days they did not wear the ring. */
export const OURA_SANDBOX_USERS = {
  'sleeper-ada': { scopes: [...ALL_SCOPES], ringOffEvery: 0 },
  'no-heartrate-bo': { scopes: ALL_SCOPES.filter((s) => s !== 'heartrate'), ringOffEvery: 0 },
  'forgetful-cy': { scopes: [...ALL_SCOPES], ringOffEvery: 5 },
} as const
export type OuraSandboxUser = keyof typeof OURA_SANDBOX_USERS

/**
 * One injected fault: matching requests (the first `times`, or all until cleared) wait `delayMs`
 * and/or until `hold` settles, then get `status` with `body` instead of the real answer (absent
 * status: the real answer, late). `match` is 'data' (every collection), one collection, or 'token'.
 */
export interface OuraFault {
  match: string
  status?: number
  /** JSON for the fault status; a string is sent as it is (a malformed body). Default `{"detail": …}`. */
  body?: unknown
  retryAfterSeconds?: number
  delayMs?: number
  hold?: Promise<unknown>
  times?: number
}

export interface OuraSimulatorOptions {
  clientId: string
  clientSecret: string
  /** "Today" for the generated data (epoch ms); data covers historyDays before it. */
  now?: () => number
  historyDays?: number
  accessTokenTtlSeconds?: number
  port?: number
  /** A loopback address to listen on (default 127.0.0.1). */
  host?: string
  /** Redirect URIs the authorize page accepts (default: any). */
  redirectUris?: string[]
  /** Called after each answer (`latchkey simulate oura` logs them). */
  onRequest?(r: { method: string; path: string; status: number }): void
}

export interface OuraSimulator {
  url: string
  /** Where latchkey sends the user: a page listing the sandbox users, one link each. */
  authorizationUrl: string
  tokenUrl: string
  /** Tokens as if the user had approved the app on the authorize page. */
  issueTokens(user: OuraSandboxUser): { access_token: string; refresh_token: string; expires_in: number; scope: string; token_type: 'bearer' }
  /** The next `count` data requests answer 429 with this Retry-After (seconds). */
  rateLimitNext(count: number, retryAfterSeconds: number): void
  injectFault(fault: OuraFault): void
  clearFaults(): void
  /** Every access token issued so far stops working (as if it had expired); refresh tokens stay valid. */
  expireAccessTokens(): void
  /** Every request received: path, query, status. */
  requests: { path: string; query: Record<string, string>; status: number }[]
  close(): Promise<void>
}

interface Grant { user: OuraSandboxUser; scopes: string[]; expiresAt: number }

const dayString = (ms: number) => new Date(ms).toISOString().slice(0, 10)

/** A seeded value in [0, 1) per (user, day, salt): the same night every run. */
function noise(user: string, day: string, salt: string): number {
  let h = 2166136261
  for (const c of `${user}|${day}|${salt}`) h = Math.imul(h ^ c.charCodeAt(0), 16777619)
  return ((h >>> 0) % 10_000) / 10_000
}

/** One user's documents of one collection for one day ([] when the ring was off). */
export function documentsFor(user: OuraSandboxUser, type: string, dayMs: number): Record<string, unknown>[] {
  const day = dayString(dayMs)
  const off = OURA_SANDBOX_USERS[user].ringOffEvery
  if (off && Math.floor(dayMs / DAY_MS) % off === 0) return []
  const n = (salt: string) => noise(user, day, salt)
  const id = (kind: string) => `${kind}-${user}-${day}`
  const total = Math.round(6 * 3600 + n('total') * 2.5 * 3600)
  const deep = Math.round(total * (0.13 + n('deep') * 0.08))
  const rem = Math.round(total * (0.18 + n('rem') * 0.07))
  switch (type) {
    case 'daily_sleep':
      return [{ id: id('ds'), day, score: 60 + Math.round(n('score') * 35), timestamp: `${day}T00:00:00+00:00`, contributors: { deep_sleep: 70, efficiency: 80 + Math.round(n('eff') * 18), latency: 75, rem_sleep: 72, restfulness: 68, timing: 80, total_sleep: 75 } }]
    case 'daily_readiness':
      return [{ id: id('dr'), day, score: 55 + Math.round(n('ready') * 40), timestamp: `${day}T00:00:00+00:00`, temperature_deviation: Math.round((n('temp') - 0.5) * 60) / 100, temperature_trend_deviation: null, contributors: { activity_balance: 80, body_temperature: 95, hrv_balance: 70 + Math.round(n('hrv') * 25), previous_day_activity: 75, previous_night: 72, recovery_index: 88, resting_heart_rate: 85, sleep_balance: 78, sleep_regularity: 81 } }]
    case 'daily_activity':
      return [{ id: id('da'), day, score: n('noscore') < 0.1 ? null : 50 + Math.round(n('act') * 45), timestamp: `${day}T04:00:00+00:00`, steps: 2000 + Math.round(n('steps') * 12000), active_calories: 200 + Math.round(n('cal') * 600), total_calories: 2200, equivalent_walking_distance: 6000, high_activity_time: 600, medium_activity_time: 1800, low_activity_time: 10800, sedentary_time: 30000, contributors: {} }]
    case 'sleep': {
      const start = dayMs - 2 * 3600_000 + Math.round(n('bed') * 3600_000) // bedtime around 22:00–23:00 UTC the evening before
      const main = { id: id('sl'), day, type: 'long_sleep', bedtime_start: new Date(start).toISOString(), bedtime_end: new Date(start + total + 1800_000).toISOString(), total_sleep_duration: total, deep_sleep_duration: deep, rem_sleep_duration: rem, light_sleep_duration: total - deep - rem, awake_time: 1800, time_in_bed: total + 1800, efficiency: Math.round((total / (total + 1800)) * 100), latency: 600, lowest_heart_rate: 46 + Math.round(n('low') * 10), average_heart_rate: 56, average_hrv: 45, readiness_score_delta: null }
      if (n('nap') > 0.8) return [main, { ...main, id: id('nap'), type: 'late_nap', total_sleep_duration: 1500, bedtime_start: new Date(dayMs + 14 * 3600_000).toISOString(), bedtime_end: new Date(dayMs + 14.5 * 3600_000).toISOString() }]
      return [main]
    }
    default:
      return []
  }
}

const SAMPLE_MS = 300_000

/** One page of heart-rate samples, every 5 minutes in [from, to): only the page is generated. */
function heartratePage(user: OuraSandboxUser, from: number, to: number, offset: number, size: number): { page: Record<string, unknown>[]; total: number } {
  const first = Math.ceil(from / SAMPLE_MS) * SAMPLE_MS
  const total = Math.max(0, Math.ceil((to - first) / SAMPLE_MS))
  const page: Record<string, unknown>[] = []
  for (let i = offset; i < Math.min(total, offset + size); i++) {
    const t = first + i * SAMPLE_MS
    const hour = new Date(t).getUTCHours()
    const asleep = hour < 6 || hour >= 23
    page.push({ bpm: (asleep ? 50 : 68) + Math.round(noise(user, String(t), 'hr') * 20), source: asleep ? 'sleep' : 'awake', timestamp: new Date(t).toISOString().replace('Z', '+00:00') })
  }
  return { page, total }
}

const COLLECTIONS = new Set(['daily_sleep', 'sleep', 'daily_readiness', 'daily_activity'])

/** Starts the simulator on 127.0.0.1. */
export async function startOuraSimulator(opts: OuraSimulatorOptions): Promise<OuraSimulator> {
  const now = opts.now ?? Date.now
  const history = opts.historyDays ?? 120
  const ttl = opts.accessTokenTtlSeconds ?? 86_400
  const access = new Map<string, Grant>()
  const refresh = new Map<string, { user: OuraSandboxUser; scopes: string[] }>()
  let faults: OuraFault[] = []
  const requests: OuraSimulator['requests'] = []
  const codes = new Map<string, { user: OuraSandboxUser; scopes: string[]; redirectUri: string }>()

  const issue = (user: OuraSandboxUser, scopes: string[]) => {
    const a = randomBytes(24).toString('base64url')
    const r = randomBytes(24).toString('base64url')
    access.set(a, { user, scopes, expiresAt: now() + ttl * 1000 })
    refresh.set(r, { user, scopes })
    return { access_token: a, refresh_token: r, expires_in: ttl, scope: scopes.join(' '), token_type: 'bearer' as const }
  }
  const json = (res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) => {
    res.writeHead(status, { 'content-type': 'application/json', ...headers }).end(JSON.stringify(body))
  }

  /** The first installed fault for this request, counted against its `times`. */
  const takeFault = (targets: string[]): OuraFault | undefined => {
    const fault = faults.find((f) => targets.includes(f.match) && (f.times === undefined || f.times > 0))
    if (fault?.times !== undefined && --fault.times <= 0) faults = faults.filter((f) => f !== fault)
    return fault
  }

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://x')
    const query = Object.fromEntries(url.searchParams)
    const reply = (status: number, body: unknown, headers?: Record<string, string>) => {
      requests.push({ path: url.pathname, query, status })
      if (typeof body === 'string') res.writeHead(status, { 'content-type': 'application/json', ...headers }).end(body)
      else json(res, status, body, headers)
      opts.onRequest?.({ method: req.method ?? 'GET', path: url.pathname, status })
    }
    const dataType = /^\/v2\/usercollection\/([a-z_]+)$/.exec(url.pathname)?.[1]
    const fault = url.pathname === '/oauth/token' ? takeFault(['token']) : dataType ? takeFault(['data', dataType]) : undefined
    if (fault?.delayMs) await new Promise((resolve) => setTimeout(resolve, fault.delayMs))
    await fault?.hold?.catch(() => {})
    if (fault?.status !== undefined) {
      const headers: Record<string, string> = fault.retryAfterSeconds === undefined ? {} : { 'retry-after': String(fault.retryAfterSeconds) }
      return reply(fault.status, fault.body ?? { detail: fault.status === 429 ? 'Too Many Requests' : 'Internal Server Error' }, headers)
    }
    if (req.method === 'GET' && url.pathname === '/oauth/authorize') return authorize(url, query, res)
    if (req.method === 'POST' && url.pathname === '/oauth/token') {
      let text = ''
      for await (const chunk of req) text += chunk
      const form = new URLSearchParams(text)
      if (form.get('client_id') !== opts.clientId || form.get('client_secret') !== opts.clientSecret) return reply(401, { error: 'invalid_client' })
      if (form.get('grant_type') === 'authorization_code') {
        const held = codes.get(form.get('code') ?? '')
        codes.delete(form.get('code') ?? '') // single-use
        if (!held || held.redirectUri !== form.get('redirect_uri')) return reply(400, { error: 'invalid_grant' })
        return reply(200, issue(held.user, held.scopes))
      }
      const held = form.get('grant_type') === 'refresh_token' ? refresh.get(form.get('refresh_token') ?? '') : undefined
      if (!held) return reply(400, { error: 'invalid_grant' })
      refresh.delete(form.get('refresh_token') ?? '') // single-use
      return reply(200, issue(held.user, held.scopes))
    }
    const m = /^\/v2\/usercollection\/([a-z_]+)$/.exec(url.pathname)
    if (req.method !== 'GET' || !m) return reply(404, { detail: 'Not Found' })
    const grant = access.get((req.headers.authorization ?? '').replace(/^Bearer /, ''))
    if (!grant || grant.expiresAt <= now()) return reply(401, { detail: 'access token is expired, malformed or revoked' })
    const type = m[1] as string
    const needed = type === 'heartrate' ? 'heartrate' : 'daily'
    if (!grant.scopes.includes(needed)) return reply(401, { detail: `missing scope ${needed}` })
    const earliest = now() - history * DAY_MS
    const size = type === 'heartrate' ? OURA_SIM_HEARTRATE_PAGE_SIZE : OURA_SIM_PAGE_SIZE
    const offset = Number(query.next_token ?? 0)
    let page: Record<string, unknown>[]
    let total: number
    if (type === 'heartrate') {
      const from = Date.parse(query.start_datetime ?? '')
      const to = query.end_datetime ? Date.parse(query.end_datetime) : now()
      if (Number.isNaN(from) || Number.isNaN(to)) return reply(422, { detail: [{ loc: ['query', 'start_datetime'], msg: 'invalid datetime', type: 'value_error' }] })
      ;({ page, total } = heartratePage(grant.user, Math.max(from, earliest), Math.min(to, now()), offset, size))
    } else if (COLLECTIONS.has(type)) {
      const from = Date.parse(query.start_date ?? '')
      const to = Date.parse(query.end_date ?? dayString(now()))
      if (Number.isNaN(from) || Number.isNaN(to)) return reply(422, { detail: [{ loc: ['query', 'start_date'], msg: 'invalid date', type: 'value_error' }] })
      const items: Record<string, unknown>[] = []
      // end_date is inclusive; today's documents exist once the night has ended.
      for (let d = Math.max(from, Math.floor(earliest / DAY_MS) * DAY_MS); d <= Math.min(to, now()); d += DAY_MS) items.push(...documentsFor(grant.user, type, d))
      page = items.slice(offset, offset + size)
      total = items.length
    } else return reply(404, { detail: 'Not Found' })
    const next = offset + size < total ? String(offset + size) : null
    return reply(200, { data: page, next_token: next })
  }

  // The consent page: one link per sandbox user; following it approves and redirects with a code.
  const authorize = (url: URL, query: Record<string, string>, res: ServerResponse) => {
    const done = (status: number, headers: Record<string, string>, body: string) => {
      requests.push({ path: url.pathname, query: {}, status })
      res.writeHead(status, headers).end(body)
      opts.onRequest?.({ method: 'GET', path: url.pathname, status })
    }
    const redirectUri = query.redirect_uri ?? ''
    if (query.client_id !== opts.clientId || !URL.canParse(redirectUri) || (opts.redirectUris && !opts.redirectUris.includes(redirectUri)))
      return done(400, { 'content-type': 'text/plain' }, 'unknown client_id or redirect_uri')
    const user = query.user as OuraSandboxUser | undefined
    if (user && Object.hasOwn(OURA_SANDBOX_USERS, user)) {
      const asked = (query.scope ?? '').split(/[ +]/).filter(Boolean)
      const scopes = OURA_SANDBOX_USERS[user].scopes.filter((s) => asked.length === 0 || asked.includes(s))
      const code = randomBytes(18).toString('base64url')
      codes.set(code, { user, scopes, redirectUri })
      const back = new URL(redirectUri)
      back.searchParams.set('code', code)
      if (query.state !== undefined) back.searchParams.set('state', query.state)
      return done(302, { location: back.href }, '')
    }
    const links = Object.keys(OURA_SANDBOX_USERS).map((u) => {
      const href = new URLSearchParams({ ...query, user: u }).toString().replaceAll('&', '&amp;')
      return `<li><a href="/oauth/authorize?${href}">${u}</a></li>`
    })
    done(200, { 'content-type': 'text/html; charset=utf-8' }, `<!doctype html><title>Oura simulator</title><h1>Oura simulator: sign in as</h1><ul>${links.join('')}</ul>`)
  }

  const server = createServer((req, res) => void handle(req, res).catch(() => res.destroy()))
  const host = opts.host ?? '127.0.0.1'
  if (!isLoopbackHost(host)) throw new TypeError(`"host" must be a loopback address (127.0.0.1, ::1, localhost), got ${JSON.stringify(host)}`)
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(opts.port ?? 0, host, resolve)
  })
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${(server.address() as AddressInfo).port}`
  return {
    url,
    authorizationUrl: `${url}/oauth/authorize`,
    tokenUrl: `${url}/oauth/token`,
    issueTokens: (user) => issue(user, [...OURA_SANDBOX_USERS[user].scopes]),
    rateLimitNext: (count, retryAfterSeconds) => void (count > 0 && faults.push({ match: 'data', status: 429, retryAfterSeconds, times: count })),
    injectFault: (fault) => void faults.push({ ...fault }),
    clearFaults: () => void (faults = []),
    expireAccessTokens: () => {
      for (const grant of access.values()) grant.expiresAt = Math.min(grant.expiresAt, now())
    },
    requests,
    close: () => new Promise<void>((resolve) => {
      server.close(() => resolve())
      server.closeAllConnections()
    }),
  }
}
