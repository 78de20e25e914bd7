import type { ProviderOverride } from './schema.js'

const SIX_MONTHS_MS = 183 * 24 * 60 * 60 * 1000

function dexcomRegion(displayName: string, base: string): ProviderOverride {
  return {
    displayName,
    // Login, token and data paths are the same on every host (dexcom-api.md §1); PKCE is not
    // documented, so the browser-bound one-time state is the CSRF control (oauth-security.md §0).
    authorizationUrl: `${base}/v2/oauth2/login`,
    tokenUrl: `${base}/v2/oauth2/token`,
    apiBaseUrl: base,
    scopes: ['offline_access'],
    usePkce: false,
    clientAuth: 'body',
    rotation: 'single-use',
    maxTokenLifetimeSeconds: 7200,
    // Refreshes fail intermittently during Dexcom's nightly backups (tidepool skips 02:45–03:45;
    // the time zone is not stated, UTC assumed): never take an invalid_grant there as final.
    transientRefreshWindow: { start: '02:45', end: '03:45' },
    docsUrl: 'https://developer.dexcom.com/docs/dexcom/authentication',
  }
}

/**
 * Built-in providers, written from vendor documentation (shared/reference/providers.md).
 * Client credentials never ship here: they come from config, the environment or the chat.
 *
 * RFC 9207 `issuer` (mix-up defence) is set only where the authorization server is known to send
 * `iss` on its redirect: Google (https://accounts.google.com; sent since 2026 without
 * `authorization_response_iss_parameter_supported` in its metadata and not to every account, so
 * an absent `iss` is accepted: openiddict/openiddict-core#2428). Dexcom, Oura, Fitbit, Withings,
 * Strava, WHOOP, GitHub and Spotify document no `iss` and publish no metadata saying they send it:
 * no issuer, and any `iss` their callback carries must still name the authorization endpoint's
 * own server (src/oauth/callback.ts).
 */
export const BUILT_IN_PROVIDERS: Readonly<Record<string, ProviderOverride>> = {
  dexcom: dexcomRegion('Dexcom', 'https://api.dexcom.com'),
  'dexcom-eu': dexcomRegion('Dexcom (EU and outside US)', 'https://api.dexcom.eu'),
  'dexcom-jp': dexcomRegion('Dexcom (Japan)', 'https://api.dexcom.jp'),
  'dexcom-sandbox': dexcomRegion('Dexcom Sandbox', 'https://sandbox-api.dexcom.com'),
  oura: {
    displayName: 'Oura',
    authorizationUrl: 'https://cloud.ouraring.com/oauth/authorize',
    tokenUrl: 'https://api.ouraring.com/oauth/token',
    apiBaseUrl: 'https://api.ouraring.com',
    scopes: ['personal', 'daily', 'heartrate', 'workout', 'session', 'spo2'],
    usePkce: false, // support unconfirmed (oura-api.md §1)
    rotation: 'single-use',
    docsUrl: 'https://cloud.ouraring.com/docs/authentication',
  },
  fitbit: {
    displayName: 'Fitbit',
    authorizationUrl: 'https://www.fitbit.com/oauth2/authorize',
    tokenUrl: 'https://api.fitbit.com/oauth2/token',
    apiBaseUrl: 'https://api.fitbit.com',
    scopes: ['activity', 'heartrate', 'sleep', 'profile'],
    usePkce: true,
    clientAuth: 'basic', // server apps authenticate with HTTP Basic
    rotation: 'single-use',
    docsUrl: 'https://dev.fitbit.com/build/reference/web-api/authorization/',
  },
  withings: {
    displayName: 'Withings',
    authorizationUrl: 'https://account.withings.com/oauth2_user/authorize2',
    tokenUrl: 'https://wbsapi.withings.net/v2/oauth2',
    apiBaseUrl: 'https://wbsapi.withings.net',
    scopes: ['user.info', 'user.metrics', 'user.activity'],
    scopeSeparator: ',',
    usePkce: false,
    tokenParams: { action: 'requesttoken' },
    refreshParams: { action: 'requesttoken' },
    responseRoot: 'body', // {status, body: {access_token, ...}}
    rotation: 'rotating',
    docsUrl: 'https://developer.withings.com/api-reference/#tag/oauth2',
  },
  strava: {
    displayName: 'Strava',
    authorizationUrl: 'https://www.strava.com/oauth/authorize',
    tokenUrl: 'https://www.strava.com/oauth/token',
    apiBaseUrl: 'https://www.strava.com/api/v3',
    scopes: ['read', 'activity:read_all'],
    scopeSeparator: ',',
    usePkce: false,
    extraParams: { approval_prompt: 'auto' },
    rotation: 'rotating',
    docsUrl: 'https://developers.strava.com/docs/authentication/',
  },
  whoop: {
    displayName: 'WHOOP',
    authorizationUrl: 'https://api.prod.whoop.com/oauth/oauth2/auth',
    tokenUrl: 'https://api.prod.whoop.com/oauth/oauth2/token',
    apiBaseUrl: 'https://api.prod.whoop.com/developer',
    // `offline` is what yields a refresh token, and it must be sent again on refresh.
    scopes: ['offline', 'read:recovery', 'read:cycles', 'read:sleep', 'read:workout', 'read:profile'],
    usePkce: false,
    refreshParams: { scope: 'offline' },
    rotation: 'rotating',
    docsUrl: 'https://developer.whoop.com/docs/developing/oauth',
  },
  google: {
    displayName: 'Google',
    authorizationUrl: 'https://accounts.google.com/o/oauth2/v2/auth',
    tokenUrl: 'https://oauth2.googleapis.com/token',
    deviceAuthorizationUrl: 'https://oauth2.googleapis.com/device/code',
    apiBaseUrl: 'https://www.googleapis.com',
    scopes: ['openid', 'email'],
    usePkce: true,
    issuer: 'https://accounts.google.com',
    requireIss: false,
    // A refresh token arrives only with access_type=offline, and again only with prompt=consent.
    extraParams: { access_type: 'offline', prompt: 'consent', include_granted_scopes: 'true' },
    rotation: 'none',
    docsUrl: 'https://developers.google.com/identity/protocols/oauth2/web-server',
  },
  github: {
    displayName: 'GitHub',
    authorizationUrl: 'https://github.com/login/oauth/authorize',
    tokenUrl: 'https://github.com/login/oauth/access_token',
    deviceAuthorizationUrl: 'https://github.com/login/device/code',
    apiBaseUrl: 'https://api.github.com',
    scopes: ['read:user'],
    usePkce: true,
    rotation: 'single-use', // GitHub App user tokens
    refreshTokenMaxAgeMs: SIX_MONTHS_MS,
    docsUrl: 'https://docs.github.com/en/apps/creating-github-apps',
  },
  spotify: {
    displayName: 'Spotify',
    authorizationUrl: 'https://accounts.spotify.com/authorize',
    tokenUrl: 'https://accounts.spotify.com/api/token',
    apiBaseUrl: 'https://api.spotify.com/v1',
    scopes: ['user-read-email', 'user-read-private'],
    usePkce: true,
    clientAuth: 'basic',
    rotation: 'rotating', // a refresh response may omit refresh_token: keep the old one
    refreshTokenMaxAgeMs: SIX_MONTHS_MS, // counted from consent, not extended by refreshing
    docsUrl: 'https://developer.spotify.com/documentation/web-api/tutorials/code-flow',
  },
}
