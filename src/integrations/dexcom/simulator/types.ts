// Public types of the Dexcom simulator (dexcom-api.md §7). Kept in their own module so the
// client, the sync job and their tests can import them without pulling in the server.

/** One registered app: Dexcom checks `client_id`, `client_secret` and the exact `redirect_uri`. */
export interface DexcomSimulatorClient {
  clientId: string
  clientSecret: string
  /** Exact-match list, like Dexcom's registered redirect URI. */
  redirectUris: string[]
}

/** Which requests a fault applies to. */
export type DexcomFaultTarget =
  /** Both token grants, on /v2 and /v3. */
  | 'token'
  /** Only `grant_type=authorization_code`. */
  | 'code'
  /** Only `grant_type=refresh_token`. */
  | 'refresh'
  /** Every `/v3/users/self/*` data request. */
  | 'data'
  | DexcomDataEndpoint

export type DexcomDataEndpoint = 'egvs' | 'dataRange' | 'devices' | 'events' | 'alerts' | 'calibrations'

/**
 * One injected fault. Matching requests (the first `times` of them, or all while the rule
 * stays installed) are delayed by `delayMs`, then answered with `status` instead of the real
 * reply. `status: 0` destroys the socket without an answer (a network failure).
 */
export interface DexcomFault {
  match: DexcomFaultTarget
  /** HTTP status to answer, e.g. 500, 503, 429; 0 = drop the connection; absent = answer normally (after the delay). */
  status?: number
  /** Sent as `Retry-After` (seconds) with the fault status. */
  retryAfterSeconds?: number
  /** JSON body for the fault status (default `{"error":"server_error"}` or `{"error":"rate_limited"}` for 429). */
  body?: unknown
  /** Wait this long (real milliseconds) before answering. */
  delayMs?: number
  /** Wait until this settles before answering (in-process tests hold a sync in flight, then let it go). */
  hold?: Promise<unknown>
  /** Apply to this many matching requests, then retire the rule (default: until cleared). */
  times?: number
  /**
   * Token requests only: do the real work first (consume the code or rotate the refresh token),
   * then replace the reply with the fault: the "ambiguous failure" of dexcom-api.md §4.
   */
  afterProcessing?: boolean
}

/**
 * Refresh grants fail inside a daily UTC window (Dexcom's nightly backups, dexcom-api.md §4:
 * tidepool skips 02:45–03:45). The refresh token is not consumed.
 */
export interface DexcomRefreshOutage {
  /** 'HH:MM' UTC, inclusive. */
  start: string
  /** 'HH:MM' UTC, exclusive; may be earlier than `start` (the window wraps midnight). */
  end: string
  /** 'server_error' answers 503; 'invalid_grant' answers 400 `{"error":"invalid_grant"}`. Default 'server_error'. */
  kind?: 'server_error' | 'invalid_grant'
}

export interface DexcomSimulatorFaults {
  refreshOutage?: DexcomRefreshOutage
  rules?: DexcomFault[]
}

export interface DexcomSimulatorOptions {
  /** Loopback only (127.0.0.0/8, ::1, localhost); default 127.0.0.1. Anything else throws. */
  host?: string
  /** Default 0 (a free port). */
  port?: number
  clients: DexcomSimulatorClient[]
  /** Injectable clock (epoch ms) for tokens, codes, the data horizon and the rate limit; default Date.now. */
  now?: () => number
  /** Default 7200 (dexcom-api.md §2.2). */
  accessTokenTtlSeconds?: number
  /** No official figure; default 90 days (a third-party claim, dexcom-api.md §2.2). Each rotation starts a new lifetime. */
  refreshTokenTtlSeconds?: number
  /** Authorization codes live this long; default 60. */
  codeTtlSeconds?: number
  /** Records newer than now − delay are not served yet; default 60 (US mobile, dexcom-api.md §3.6). */
  dataDelayMinutes?: number
  /** Data exists from this instant (epoch ms); default 90 days before the clock at start, at 00:00 UTC. */
  dataStartMs?: number
  /** Data calls per app (client id) per clock hour before 429; default 60000. */
  hourlyRateLimit?: number
  faults?: DexcomSimulatorFaults
  /** Seeds the generated data (not the tokens); default 'latchkey'. Same seed + same clock → same records. */
  seed?: string
  /** Called once per request after its reply went out (or the connection dropped): the CLI prints these. */
  onRequest?: (request: DexcomSimulatorRequest) => void
}

/** One request as the simulator saw it (no bodies, so no secrets). */
export interface DexcomSimulatorRequest {
  method: string
  /** Path without the query string. */
  path: string
  /** Query parameters (the login page's and the data endpoints'; no secret travels in a query here). */
  query: Record<string, string>
  status: number
  /** For token requests: the `grant_type` sent. */
  grantType?: string
}

export interface DexcomSimulatorStats {
  /** POSTs to either token endpoint, whatever the outcome. */
  tokenRequests: number
  /** Successful code exchanges. */
  codeExchanges: number
  /** Successful refreshes. */
  refreshes: number
  /** Requests under /v3/users/self (or /v2/users/self), whatever the outcome. */
  dataRequests: number
  /** Data requests answered 429 by the hourly limit (not by injected faults). */
  rateLimited: number
}

/** Tokens as the token endpoint returns them. */
export interface DexcomTokenSet {
  access_token: string
  refresh_token: string
  expires_in: number
  token_type: 'Bearer'
}

export type DexcomSandboxUser =
  | 'SandboxUser1'
  | 'SandboxUser2'
  | 'SandboxUser3'
  | 'SandboxUser4'
  | 'SandboxUser5'
  | 'SandboxUser6'
  | 'SandboxUser7'

export interface DexcomSimulator {
  /** Base URL, e.g. http://127.0.0.1:41234 (no trailing slash): the `apiBaseUrl`. */
  url: string
  /** `${url}/v2/oauth2/login` and `${url}/v2/oauth2/token` (the /v3 twins work too). */
  authorizationUrl: string
  tokenUrl: string
  /** Every request in arrival order. */
  readonly requests: DexcomSimulatorRequest[]
  readonly stats: DexcomSimulatorStats
  /** Installed fault rules (mutable: push, splice, or use injectFault/clearFaults). */
  readonly faults: DexcomSimulatorFaults
  injectFault(fault: DexcomFault): void
  /** Removes all rules and the refresh outage. */
  clearFaults(): void
  /** Invalidates every access and refresh token (the user revoked access); codes too. */
  revokeAll(): void
  /** Test shortcut past the browser: a fresh single-use code, as the consent step would issue it. */
  issueCode(opts: { clientId: string; redirectUri: string; user?: DexcomSandboxUser }): string
  /** Test shortcut: a fresh token pair, as a code exchange would return it. */
  issueTokens(opts: { clientId: string; user?: DexcomSandboxUser }): DexcomTokenSet
  /** The `userId` a client sees for a user (stable per user per client). */
  userIdFor(clientId: string, user: DexcomSandboxUser): string
  close(): Promise<void>
}
