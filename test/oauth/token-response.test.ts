// parseTokenResponse: every shape a token endpoint answers with, table-driven.
import t from 'tap'
import type { Test } from 'tap'
import { parseTokenResponse, type RawResponse, type TokenOutcome } from '../../src/oauth/token-response.js'

const NOW = Date.UTC(2026, 10, 25, 12, 0, 0)
const plain = {}
const withings = { responseRoot: 'body' }

interface Case {
  name: string
  provider?: { responseRoot?: string; maxTokenLifetimeSeconds?: number }
  status?: number
  contentType?: string
  body: unknown
  previousRefreshToken?: string
  /** The whole outcome, compared with t.same (so no extra fields may appear). */
  want?: TokenOutcome
  /** Or: the outcome's kind plus a check of its details. */
  kind?: TokenOutcome['kind']
  check?: (t: Test, outcome: TokenOutcome) => void
}

const cases: Case[] = [
  {
    name: 'a normal JSON response',
    body: { access_token: 'at-1', token_type: 'Bearer', expires_in: 7200, refresh_token: 'rt-1', scope: 'offline_access' },
    want: {
      kind: 'tokens',
      entry: { type: 'oauth', access: 'at-1', refresh: 'rt-1', expires: NOW + 7_200_000, scope: 'offline_access', tokenType: 'Bearer' },
      grantedScopes: ['offline_access'],
    },
  },
  {
    name: 'expires_in beyond the provider’s declared token lifetime is capped (Dexcom: milliseconds or seconds?)',
    provider: { maxTokenLifetimeSeconds: 7200 },
    body: { access_token: 'at', expires_in: 7_200_000 },
    kind: 'tokens',
    check: (t, o) => t.equal(o.kind === 'tokens' && o.entry.expires, NOW + 7_200_000, 'two hours, not 83 days'),
  },
  {
    name: 'expires_in under the cap is kept as it is',
    provider: { maxTokenLifetimeSeconds: 7200 },
    body: { access_token: 'at', expires_in: 600 },
    kind: 'tokens',
    check: (t, o) => t.equal(o.kind === 'tokens' && o.entry.expires, NOW + 600_000),
  },
  {
    name: 'token_type "bearer" in lower case becomes "Bearer"',
    body: { access_token: 'at', token_type: 'bearer', expires_in: 60 },
    kind: 'tokens',
    check: (t, o) => t.equal(o.kind === 'tokens' && o.entry.tokenType, 'Bearer'),
  },
  {
    name: 'another token_type is kept as sent',
    body: { access_token: 'at', token_type: 'mac' },
    kind: 'tokens',
    check: (t, o) => t.equal(o.kind === 'tokens' && o.entry.tokenType, 'mac'),
  },
  {
    name: 'no expires_in: no expires (unknown, not "now" or "never")',
    body: { access_token: 'at', token_type: 'Bearer', refresh_token: 'rt' },
    want: { kind: 'tokens', entry: { type: 'oauth', access: 'at', refresh: 'rt', tokenType: 'Bearer' }, grantedScopes: null },
  },
  {
    name: 'expires_in as a numeric string',
    body: { access_token: 'at', token_type: 'Bearer', expires_in: '3600' },
    kind: 'tokens',
    check: (t, o) => t.equal(o.kind === 'tokens' && o.entry.expires, NOW + 3_600_000),
  },
  // Issue 9 item 1: a rotating provider has already spent the old refresh token, so no
  // expires_in may make the answer be thrown away.
  ...(
    [
      ['0', 0],
      ['negative', -30],
      ['a numeric string past 2^53', '9007199254740993'],
      ['2^53 − 1', Number.MAX_SAFE_INTEGER],
      ['a 400-digit string', '9'.repeat(400)],
      ['not a number', 'soon'],
      ['an object', { seconds: 60 }],
    ] as [string, unknown][]
  ).map(
    ([what, value]): Case => ({
      name: `expires_in ${what}: tokens kept, lifetime unknown, the oddity reported`,
      body: { access_token: 'at', refresh_token: 'rt-new', expires_in: value },
      kind: 'tokens',
      check: (t, o) => {
        t.equal(o.kind === 'tokens' && o.entry.refresh, 'rt-new', 'the new refresh token is kept')
        t.equal(o.kind === 'tokens' && o.entry.expires, undefined, 'no made-up expiry')
        t.match(o.kind === 'tokens' && o.oddExpiresIn, /expires_in/)
      },
    }),
  ),
  {
    name: 'expires_in fractional (3.5): floored to 3 s',
    body: { access_token: 'at', expires_in: 3.5 },
    kind: 'tokens',
    check: (t, o) => t.equal(o.kind === 'tokens' && o.entry.expires, NOW + 3_000),
  },
  {
    name: 'expires_in as a fractional string: floored',
    body: { access_token: 'at', expires_in: '3600.9' },
    kind: 'tokens',
    check: (t, o) => t.equal(o.kind === 'tokens' && o.entry.expires, NOW + 3_600_000),
  },
  {
    name: 'expires_in of five years: capped at one year',
    body: { access_token: 'at', expires_in: 5 * 365 * 86_400 },
    kind: 'tokens',
    check: (t, o) => t.equal(o.kind === 'tokens' && o.entry.expires, NOW + 365 * 86_400_000),
  },
  {
    name: 'no usable access_token: rejected, but a new refresh token in it is handed back (not enumerable: never logged)',
    body: { access_token: '', refresh_token: 'rt-rescued', expires_in: 3600 },
    kind: 'bad_response',
    check: (t, o) => {
      t.equal((o as { refreshToken?: string }).refreshToken, 'rt-rescued')
      t.notMatch(JSON.stringify(o), /rt-rescued/)
    },
  },
  {
    name: 'no refresh_token keeps the previous one (RFC 6749 §6)',
    body: { access_token: 'at-2', token_type: 'Bearer', expires_in: 3600 },
    previousRefreshToken: 'rt-old',
    kind: 'tokens',
    check: (t, o) => {
      t.equal(o.kind === 'tokens' && o.entry.refresh, 'rt-old')
      t.equal(o.kind === 'tokens' && o.entry.access, 'at-2')
    },
  },
  {
    name: 'a new refresh_token replaces the previous one',
    body: { access_token: 'at-2', refresh_token: 'rt-new' },
    previousRefreshToken: 'rt-old',
    kind: 'tokens',
    check: (t, o) => t.equal(o.kind === 'tokens' && o.entry.refresh, 'rt-new'),
  },
  {
    name: 'no refresh_token and none before: no refresh key at all',
    body: { access_token: 'at', token_type: 'Bearer' },
    kind: 'tokens',
    check: (t, o) => t.notOk(o.kind === 'tokens' && 'refresh' in o.entry, 'refresh is omitted, not undefined'),
  },
  {
    name: 'Strava-style comma-separated scope is split',
    body: { access_token: 'at', token_type: 'Bearer', scope: 'read,activity:read_all' },
    kind: 'tokens',
    check: (t, o) => {
      t.same(o.kind === 'tokens' && o.grantedScopes, ['read', 'activity:read_all'])
      t.equal(o.kind === 'tokens' && o.entry.scope, 'read activity:read_all', 'stored space-separated')
    },
  },
  {
    name: 'space-separated scope is split',
    body: { access_token: 'at', scope: 'openid  email profile' },
    kind: 'tokens',
    check: (t, o) => t.same(o.kind === 'tokens' && o.grantedScopes, ['openid', 'email', 'profile']),
  },
  {
    name: 'no scope: grantedScopes null (as requested) and no scope key',
    body: { access_token: 'at', token_type: 'Bearer' },
    kind: 'tokens',
    check: (t, o) => {
      t.equal(o.kind === 'tokens' ? o.grantedScopes : 'not tokens', null)
      t.notOk(o.kind === 'tokens' && 'scope' in o.entry)
    },
  },
  {
    name: 'HTTP 400 invalid_grant: oauth_error with its description',
    status: 400,
    body: { error: 'invalid_grant', error_description: 'The refresh token is invalid or expired.' },
    want: { kind: 'oauth_error', status: 400, error: 'invalid_grant', description: 'The refresh token is invalid or expired.' },
  },
  {
    name: 'HTTP 401 invalid_client without a description',
    status: 401,
    body: { error: 'invalid_client' },
    want: { kind: 'oauth_error', status: 401, error: 'invalid_client' },
  },
  {
    name: 'GitHub-style HTTP 200 with an error body: oauth_error',
    body: { error: 'bad_verification_code', error_description: 'The code passed is incorrect or expired.', error_uri: 'https://docs.github.com' },
    want: { kind: 'oauth_error', status: 200, error: 'bad_verification_code', description: 'The code passed is incorrect or expired.' },
  },
  {
    name: 'an error code with characters outside the RFC 6749 charset becomes unknown_error',
    status: 400,
    body: { error: 'invalid_grant"<script>\\' },
    kind: 'oauth_error',
    check: (t, o) => t.equal(o.kind === 'oauth_error' && o.error, 'unknown_error'),
  },
  {
    name: 'a non-ASCII error code becomes unknown_error',
    status: 400,
    body: { error: 'invalid_grant\u202e' },
    kind: 'oauth_error',
    check: (t, o) => t.equal(o.kind === 'oauth_error' && o.error, 'unknown_error'),
  },
  {
    name: 'a description with control characters and 5000 characters is cleaned and cut to ≤200',
    status: 400,
    body: { error: 'invalid_request', error_description: `bad\r\n\u0000\u001b[31mthing\t${'x'.repeat(5000)}` },
    kind: 'oauth_error',
    check: (t, o) => {
      const d = o.kind === 'oauth_error' ? (o.description ?? '') : ''
      t.ok(d.length > 0 && d.length <= 200, `length ${d.length} is within 1..200`)
      t.notMatch(d, /[\x00-\x1f\x7f]/, 'no control characters')
      t.match(d, /^bad \[31mthing x+/, 'printable text kept, control runs collapsed to one space')
    },
  },
  {
    name: 'a body that is not JSON: bad_response',
    contentType: 'application/x-www-form-urlencoded',
    body: 'access_token=at&token_type=bearer',
    kind: 'bad_response',
    check: (t, o) => t.match(o.kind === 'bad_response' && o.reason, /not JSON/),
  },
  {
    name: 'HTTP 500 with an HTML page: bad_response with the status',
    status: 500,
    contentType: 'text/html',
    body: '<html><body><h1>Internal Server Error</h1></body></html>',
    want: { kind: 'bad_response', status: 500, reason: 'the token endpoint answered HTTP 500 with a body that is not JSON' },
  },
  {
    name: 'HTTP 503 with JSON that is neither tokens nor an error: bad_response',
    status: 503,
    body: { message: 'maintenance' },
    kind: 'bad_response',
    check: (t, o) => t.equal(o.kind === 'bad_response' && o.status, 503),
  },
  {
    name: 'HTTP 500 with tokens in the body is still not a success',
    status: 500,
    body: { access_token: 'at' },
    kind: 'bad_response',
  },
  {
    name: 'missing access_token: bad_response naming the field',
    body: { token_type: 'Bearer', expires_in: 3600, refresh_token: 'rt' },
    kind: 'bad_response',
    check: (t, o) => t.match(o.kind === 'bad_response' && o.reason, /access_token/),
  },
  {
    name: 'a JSON array: bad_response',
    body: [{ access_token: 'at' }],
    kind: 'bad_response',
  },
  {
    name: 'JSON null: bad_response',
    body: null,
    kind: 'bad_response',
  },
  {
    name: 'Withings wrapped {status: 0, body: {...}} with responseRoot "body": tokens',
    provider: withings,
    body: {
      status: 0,
      body: { userid: '363', access_token: 'w-at', refresh_token: 'w-rt', expires_in: 10800, scope: 'user.info,user.metrics', token_type: 'Bearer' },
    },
    want: {
      kind: 'tokens',
      entry: { type: 'oauth', access: 'w-at', refresh: 'w-rt', expires: NOW + 10_800_000, scope: 'user.info user.metrics', tokenType: 'Bearer' },
      grantedScopes: ['user.info', 'user.metrics'],
    },
  },
  {
    name: 'Withings {status: 601, error}: oauth_error',
    provider: withings,
    body: { status: 601, error: 'Too Many Request' },
    want: { kind: 'oauth_error', status: 200, error: 'Too Many Request' },
  },
  {
    name: 'Withings {status: 293} without error text: oauth_error naming the status',
    provider: withings,
    body: { status: 293 },
    want: { kind: 'oauth_error', status: 200, error: 'status_293' },
  },
  {
    name: 'Withings status 0 without the wrapped body: bad_response',
    provider: withings,
    body: { status: 0 },
    kind: 'bad_response',
  },
  {
    name: 'an unwrapped token body is not read when a responseRoot is declared',
    provider: withings,
    body: { access_token: 'at-at-top-level' },
    kind: 'bad_response',
  },
]

t.test('parseTokenResponse', async (t) => {
  for (const c of cases) {
    t.test(c.name, async (t) => {
      const raw: RawResponse = {
        status: c.status ?? 200,
        contentType: c.contentType ?? 'application/json',
        body: typeof c.body === 'string' ? c.body : JSON.stringify(c.body),
      }
      const outcome = parseTokenResponse(c.provider ?? plain, raw, NOW, c.previousRefreshToken)
      if (c.want) t.same(outcome, c.want)
      if (c.kind) t.equal(outcome.kind, c.kind)
      c.check?.(t, outcome)
      t.ok(c.want || c.kind, 'the case states what it expects')
    })
  }
})

t.test('no secret from the response leaks into an error outcome', async (t) => {
  const outcomes = [
    parseTokenResponse(plain, { status: 200, contentType: 'application/json', body: JSON.stringify({ refresh_token: 'SECRET-RT', expires_in: 'x' }) }, NOW),
    parseTokenResponse(plain, { status: 500, contentType: 'text/html', body: 'SECRET-RT' }, NOW),
    parseTokenResponse(plain, { status: 502, contentType: 'application/json', body: JSON.stringify({ access_token: 'SECRET-AT' }) }, NOW),
  ]
  for (const o of outcomes) {
    t.not(o.kind, 'tokens')
    t.notMatch(JSON.stringify(o), /SECRET/)
  }
})
