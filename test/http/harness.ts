// Shared set-up for the HTTP route tests: real deps on SQLite, the real Fastify app driven by
// inject, and a fake authorization server on loopback that records every request it gets.
import { createHash } from 'node:crypto'
import type { FastifyInstance, InjectOptions, LightMyRequestResponse } from 'fastify'
import { PAGE_STYLESHEET } from '../../src/http/pages.js'
import { buildServer } from '../../src/http/server.js'
import { fakeServer, testConfig, testDeps, type RecordedRequest, type Teardown, type TestDeps } from '../support/deps.js'

/** Distinctive values, so a leak anywhere can be found by a plain substring search. */
export const API_TOKEN = 'apitoken-CANARY-9d1f0c7e5b3a-4e2f-8a6d-0c1b2a3f4e5d'
export const CLIENT_SECRET = 'clientsecret-CANARY-7b4e1a9c2d8f'
export const ISSUER = 'https://issuer.example'

/** The stylesheet's hash, computed here from the text the pages inline. */
const STYLE_HASH = `sha256-${createHash('sha256').update(PAGE_STYLESHEET).digest('base64')}`

/** Headers every callback page must carry (oauth-security.md B6): nothing loads, only our stylesheet applies. */
export const PAGE_HEADERS = {
  'cache-control': 'no-store',
  'referrer-policy': 'no-referrer',
  'content-security-policy': `default-src 'none'; style-src '${STYLE_HASH}'; img-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'`,
  'x-content-type-options': 'nosniff',
}

export const STATE_RE = /^[A-Za-z0-9_-]{43}$/

export interface StartedFlow {
  state: string
  flowId: string
  provider: string
  startUrl: string
  authorizationUrl: string
  expiresAt: number
}

export interface TokenAnswer {
  status?: number
  json?: unknown
  body?: string
  delayMs?: number
}

export interface HarnessOptions {
  publicUrl?: string
  /** What the fake token endpoint answers; default: a fresh access token per request. */
  token?: (req: RecordedRequest) => TokenAnswer
  callbackWaitMs?: number
}

export interface Harness {
  deps: TestDeps
  app: FastifyInstance
  as: { url: string; requests: RecordedRequest[] }
  /** Requests the fake authorization server received at its token endpoint. */
  tokenRequests(): RecordedRequest[]
  inject(opts: InjectOptions): Promise<LightMyRequestResponse>
  createFlow(body?: Record<string, unknown>): Promise<StartedFlow>
  /** Opens the start link like a browser and returns the `name=value` cookie to send back. */
  open(flowId: string): Promise<{ res: LightMyRequestResponse; cookie: string }>
  /** A flow whose start link was opened: state plus its binding cookie. */
  ready(provider?: string, exchange?: 'daemon' | 'client'): Promise<StartedFlow & { cookie: string }>
  callback(query: string, cookie?: string, extra?: Partial<InjectOptions>): Promise<LightMyRequestResponse>
  pending(state: string, query?: string, token?: string | null): Promise<LightMyRequestResponse>
  count(table: 'oauth_flows' | 'oauth_pending' | 'outbox' | 'connections'): number
  status(state: string): string | undefined
}

let served = 0

export async function harness(t: Teardown, opts: HarnessOptions = {}): Promise<Harness> {
  const as = await fakeServer(t, (req) => {
    if (opts.token) return opts.token(req)
    served++
    return {
      json: {
        access_token: `access-CANARY-${served}-5c2e9f`,
        refresh_token: `refresh-CANARY-${served}-8a1d3b`,
        token_type: 'bearer',
        expires_in: 3600,
        scope: 'read offline_access',
      },
    }
  })
  const common = { authorizationUrl: `${as.url}/authorize`, tokenUrl: `${as.url}/token`, clientSecret: CLIENT_SECRET }
  const config = testConfig(t, {
    apiToken: API_TOKEN,
    // An https publicUrl is served on a tailnet address (the server here never listens).
    ...(opts.publicUrl ? { publicUrl: opts.publicUrl, listen: { host: '100.64.0.5' } } : {}),
    providers: {
      acme: { ...common, displayName: 'Acme', clientId: 'acme-client-id', scopes: ['read', 'offline_access'], usePkce: true },
      plain: { ...common, displayName: 'Plain', clientId: 'plain-client-id', scopes: ['read'], usePkce: false, clientAuth: 'basic' },
      issuing: { ...common, displayName: 'Issuing', clientId: 'issuing-client-id', scopes: ['read'], usePkce: true, issuer: ISSUER },
    },
  })
  const deps = testDeps(t, { config })
  const app = await buildServer(deps, { apiToken: API_TOKEN, callbackWaitMs: opts.callbackWaitMs ?? 0 })
  t.teardown(() => app.close())

  const inject = (o: InjectOptions) => app.inject(o)
  const h: Harness = {
    deps,
    app,
    as,
    tokenRequests: () => as.requests.filter((r) => r.url.startsWith('/token')),
    inject,
    async createFlow(body = { provider: 'acme' }) {
      const res = await inject({ method: 'POST', url: '/oauth/flows', headers: { authorization: `Bearer ${API_TOKEN}` }, payload: body })
      if (res.statusCode !== 201) throw new Error(`POST /oauth/flows answered ${res.statusCode}: ${res.body}`)
      return res.json() as StartedFlow
    },
    async open(flowId) {
      const res = await inject({ method: 'GET', url: `/oauth/start/${flowId}` })
      const header = res.headers['set-cookie']
      const first = Array.isArray(header) ? header[0] : header
      if (res.statusCode !== 302 || typeof first !== 'string') throw new Error(`start answered ${res.statusCode} without a cookie`)
      return { res, cookie: first.split(';')[0] ?? '' }
    },
    async ready(provider = 'acme', exchange = 'daemon') {
      const flow = await h.createFlow({ provider, exchange })
      const { cookie } = await h.open(flow.flowId)
      return { ...flow, cookie }
    },
    callback(query, cookie, extra = {}) {
      return inject({
        method: 'GET',
        url: `/oauth/callback${query ? `?${query}` : ''}`,
        ...extra,
        headers: { ...(cookie !== undefined ? { cookie } : {}), ...(extra.headers ?? {}) },
      })
    },
    pending(state, query = '', token = API_TOKEN) {
      return inject({
        method: 'GET',
        url: `/oauth/pending/${state}${query ? `?${query}` : ''}`,
        headers: token === null ? {} : { authorization: `Bearer ${token}` },
      })
    },
    count(table) {
      return (deps.db.prepare(`SELECT COUNT(*) AS n FROM ${table}`).get() as { n: number }).n
    },
    status(state) {
      return (deps.db.prepare('SELECT status FROM oauth_flows WHERE state = ?').get(state) as { status: string } | undefined)?.status
    },
  }
  return h
}

/** Every header of a callback page (B6), checked on one response. */
export function pageHeaders(res: LightMyRequestResponse): Record<string, unknown> {
  return Object.fromEntries(Object.keys(PAGE_HEADERS).map((k) => [k, res.headers[k]]))
}

/** Reads the first value of a header that may repeat. */
export function headerList(res: LightMyRequestResponse, name: string): string[] {
  const v = res.headers[name]
  if (v === undefined) return []
  return (Array.isArray(v) ? v : [v]).map(String)
}

/** `state` with a query-safe encoding. */
export const q = (params: Record<string, string>): string => new URLSearchParams(params).toString()

/**
 * Resolves once `count` listeners wait for flow-changed events (a long-poll is parked on the
 * event). Gives up after a bounded number of event-loop turns, so a sleep-loop fails, not hangs.
 */
export async function untilListening(h: Harness, count = 1): Promise<void> {
  for (let turn = 0; turn < 10_000; turn++) {
    if (h.deps.events.listenerCount('flow-changed') >= count) return
    await new Promise((resolve) => setImmediate(resolve))
  }
  throw new Error(`no long-poll is listening for flow-changed events (wanted ${count})`)
}
