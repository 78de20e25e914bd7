// A local Dexcom (OAuth 2.0 + data API v3) for tests, the demo and `latchkey simulate dexcom`.
// Loopback only. Follows the simulator checklist of dexcom-api.md §7; where Dexcom's behaviour is
// UNCONFIRMED the safe reading is implemented and, where it matters, made an option.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { isLoopbackHost } from '../../../url.js'
import { DATA_ENDPOINTS, handleData, userIdFor, type DataContext } from './data.js'
import { FaultBox } from './faults.js'
import { DAY_MS, MINUTE_MS, SandboxData } from './generate.js'
import { handleLogin, handleToken, OAuthStore } from './oauth.js'
import { queryRecord, sendJson, type SimRequest } from './reply.js'
import type { DexcomDataEndpoint, DexcomSimulator, DexcomSimulatorOptions, DexcomSimulatorRequest, DexcomSimulatorStats } from './types.js'

export type {
  DexcomDataEndpoint,
  DexcomFault,
  DexcomFaultTarget,
  DexcomRefreshOutage,
  DexcomSandboxUser,
  DexcomSimulator,
  DexcomSimulatorClient,
  DexcomSimulatorFaults,
  DexcomSimulatorOptions,
  DexcomSimulatorRequest,
  DexcomSimulatorStats,
  DexcomTokenSet,
} from './types.js'
export { SANDBOX_USERS, USER_PROFILES, trendForRate, EGV_INTERVAL_MS, type Trend } from './generate.js'
export { parseQueryDate } from './time.js'

export const SIMULATOR_DEFAULTS = {
  host: '127.0.0.1',
  port: 0,
  accessTokenTtlSeconds: 7200,
  /** No official figure (dexcom-api.md §2.2); 90 days is a third-party claim. */
  refreshTokenTtlSeconds: 90 * 24 * 3600,
  codeTtlSeconds: 60,
  /** US mobile-app delay; OUS is 3 h (dexcom-api.md §3.6). */
  dataDelayMinutes: 60,
  historyDays: 90,
  hourlyRateLimit: 60_000,
  seed: 'latchkey',
} as const

const OAUTH_PATH = /^\/v[23]\/oauth2\/(login|token)$/
const DATA_PATH = /^\/v3\/users\/self\/([A-Za-z]+)$/

function positiveInt(name: string, value: number | undefined, fallback: number, allowZero = false): number {
  const v = value ?? fallback
  if (!Number.isInteger(v) || v < (allowZero ? 0 : 1)) throw new TypeError(`"${name}" must be a ${allowZero ? 'non-negative' : 'positive'} integer, got ${String(value)}`)
  return v
}

/**
 * Starts the simulator on loopback and resolves once it listens.
 *
 * @example
 * const sim = await startDexcomSimulator({ clients: [{ clientId: 'app', clientSecret: 's', redirectUris: ['http://127.0.0.1:8400/oauth/callback'] }] })
 * // providers['dexcom-sandbox'] = { authorizationUrl: sim.authorizationUrl, tokenUrl: sim.tokenUrl, apiBaseUrl: sim.url, … }
 */
export async function startDexcomSimulator(opts: DexcomSimulatorOptions): Promise<DexcomSimulator> {
  const host = opts.host ?? SIMULATOR_DEFAULTS.host
  if (!isLoopbackHost(host)) throw new TypeError(`"host" must be a loopback address (127.0.0.1, ::1, localhost), got ${JSON.stringify(host)}`)
  if (!Array.isArray(opts.clients) || opts.clients.length === 0) throw new TypeError('"clients" must list at least one app')
  for (const c of opts.clients) {
    if (!c.clientId || !c.clientSecret || c.redirectUris.length === 0) throw new TypeError('each client needs a clientId, a clientSecret and at least one redirect URI')
  }
  const now = opts.now ?? Date.now
  const stats: DexcomSimulatorStats = { tokenRequests: 0, codeExchanges: 0, refreshes: 0, dataRequests: 0, rateLimited: 0 }
  const store = new OAuthStore({
    clients: opts.clients.map((c) => ({ ...c, redirectUris: [...c.redirectUris] })),
    now,
    accessTokenTtlSeconds: positiveInt('accessTokenTtlSeconds', opts.accessTokenTtlSeconds, SIMULATOR_DEFAULTS.accessTokenTtlSeconds),
    refreshTokenTtlSeconds: positiveInt('refreshTokenTtlSeconds', opts.refreshTokenTtlSeconds, SIMULATOR_DEFAULTS.refreshTokenTtlSeconds),
    codeTtlSeconds: positiveInt('codeTtlSeconds', opts.codeTtlSeconds, SIMULATOR_DEFAULTS.codeTtlSeconds),
  })
  const faults = new FaultBox(opts.faults ?? {})
  const ctx: DataContext = {
    store,
    data: new SandboxData(opts.seed ?? SIMULATOR_DEFAULTS.seed),
    faults,
    stats,
    now,
    dataDelayMs: positiveInt('dataDelayMinutes', opts.dataDelayMinutes, SIMULATOR_DEFAULTS.dataDelayMinutes, true) * MINUTE_MS,
    dataStartMs: opts.dataStartMs ?? Math.floor((now() - SIMULATOR_DEFAULTS.historyDays * DAY_MS) / DAY_MS) * DAY_MS,
    hourlyRateLimit: positiveInt('hourlyRateLimit', opts.hourlyRateLimit, SIMULATOR_DEFAULTS.hourlyRateLimit),
    usage: new Map(),
  }
  const requests: DexcomSimulatorRequest[] = []

  const route = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://simulator.invalid')
    const sim: SimRequest = { req, res, url }
    const entry: DexcomSimulatorRequest = {
      method: req.method ?? '',
      path: url.pathname,
      query: queryRecord(url),
      // Read when the test looks, after the reply: 0 when the connection was dropped.
      get status() {
        return res.headersSent ? res.statusCode : 0
      },
      get grantType() {
        return sim.grantType
      },
    }
    requests.push(entry)
    if (opts.onRequest) res.once('close', () => opts.onRequest?.(entry))
    const oauth = OAUTH_PATH.exec(url.pathname)
    if (oauth) {
      if (oauth[1] === 'login') {
        if (req.method !== 'GET' && req.method !== 'HEAD') return sendJson(res, 405, { error: 'method_not_allowed' }, { allow: 'GET' })
        return handleLogin(sim, store)
      }
      if (req.method !== 'POST') return sendJson(res, 405, { error: 'method_not_allowed' }, { allow: 'POST' })
      return handleToken(sim, store, faults, stats)
    }
    const data = DATA_PATH.exec(url.pathname)
    const endpoint = data?.[1] as DexcomDataEndpoint | undefined
    if (endpoint && DATA_ENDPOINTS.includes(endpoint)) {
      if (req.method !== 'GET') return sendJson(res, 405, { error: 'method_not_allowed' }, { allow: 'GET' })
      return handleData(sim, endpoint, ctx)
    }
    sendJson(res, 404, { error: 'not_found' })
  }

  const server = createServer((req, res) => {
    route(req, res).catch(() => {
      if (!res.headersSent) sendJson(res, 500, { error: 'server_error' })
      else res.destroy()
    })
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(positiveInt('port', opts.port, SIMULATOR_DEFAULTS.port, true), host, () => {
      server.off('error', reject)
      resolve()
    })
  })
  const address = server.address() as AddressInfo
  const hostPart = address.family === 'IPv6' ? `[${address.address}]` : address.address
  const url = `http://${hostPart}:${address.port}`
  return {
    url,
    authorizationUrl: `${url}/v2/oauth2/login`,
    tokenUrl: `${url}/v2/oauth2/token`,
    requests,
    stats,
    faults: faults.faults,
    injectFault: (fault) => faults.add(fault),
    clearFaults: () => faults.clear(),
    revokeAll: () => store.revokeAll(),
    issueCode: ({ clientId, redirectUri, user = 'SandboxUser7' }) => {
      const client = store.client(clientId)
      if (!client?.redirectUris.includes(redirectUri)) throw new TypeError(`unknown client ${JSON.stringify(clientId)} or unregistered redirect URI`)
      return store.issueCode(clientId, redirectUri, user)
    },
    issueTokens: ({ clientId, user = 'SandboxUser7' }) => {
      if (!store.client(clientId)) throw new TypeError(`unknown client ${JSON.stringify(clientId)}`)
      return store.issueTokens(clientId, user)
    },
    userIdFor,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve())
        server.closeAllConnections()
      }),
  }
}
