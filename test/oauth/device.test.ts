// The pure halves of device mode (RFC 8628): the device authorization response and one poll of
// the token endpoint, case by case with hand-built responses. The flow against a loopback
// authorization server is in device-flow.test.ts.
import t from 'tap'
import { AppError } from '../../src/errors.js'
import { DEFAULT_INTERVAL_MS, parseDeviceAuthorization, parseDevicePoll } from '../../src/oauth/device.js'
import { describeFailure } from '../../src/oauth/report.js'
import type { RawResponse } from '../../src/oauth/token-response.js'

const DEVICE_CODE = 'canary-device-code-7c1d'
const json = (body: unknown, status = 200): RawResponse => ({ status, contentType: 'application/json', body: JSON.stringify(body) })
const base = { device_code: DEVICE_CODE, user_code: 'WDJB-MJHT', expires_in: 900 }

t.test('parseDeviceAuthorization reads RFC 8628 §3.2 and the providers’ variants', async (t) => {
  t.same(
    parseDeviceAuthorization(json({ ...base, verification_uri: 'https://example.com/device', verification_uri_complete: 'https://example.com/device?user_code=WDJB-MJHT', interval: 7 })),
    { deviceCode: DEVICE_CODE, userCode: 'WDJB-MJHT', verificationUri: 'https://example.com/device', verificationUriComplete: 'https://example.com/device?user_code=WDJB-MJHT', expiresInMs: 900_000, intervalMs: 7_000 },
  )
  const github = parseDeviceAuthorization(json({ ...base, verification_uri: 'https://github.com/login/device', expires_in: 899, interval: 5 }))
  t.equal(github.verificationUriComplete, undefined, 'GitHub has no complete URI')
  t.equal(github.expiresInMs, 899_000)
  const google = parseDeviceAuthorization(json({ ...base, verification_url: 'https://www.google.com/device', expires_in: '1800', interval: '5' }))
  t.equal(google.verificationUri, 'https://www.google.com/device', 'Google says verification_url')
  t.same([google.expiresInMs, google.intervalMs], [1_800_000, 5_000], 'numbers given as strings')
  t.equal(parseDeviceAuthorization(json({ ...base, verification_uri: 'https://example.com/d' })).intervalMs, DEFAULT_INTERVAL_MS, 'no interval: 5 s')
  t.equal(DEFAULT_INTERVAL_MS, 5_000)
})

t.test('parseDeviceAuthorization rejects bad answers without echoing them', async (t) => {
  const cases: [string, RawResponse, RegExp][] = [
    ['no verification URI', json(base), /HTTP 200$/],
    ['no device_code', json({ user_code: 'A', verification_uri: 'https://e.com/d', expires_in: 900 }), /HTTP 200$/],
    ['interval zero', json({ ...base, verification_uri: 'https://e.com/d', interval: 0 }), /HTTP 200$/],
    ['not JSON', { status: 200, contentType: 'text/html', body: `<html>${DEVICE_CODE}</html>` }, /HTTP 200$/],
    ['an OAuth error', json({ error: 'invalid_client', error_description: DEVICE_CODE }, 401), /HTTP 401 \(invalid_client\)$/],
    ['a made-up error code', json({ error: `bad\n${DEVICE_CODE}`.repeat(9) }, 400), /HTTP 400 \(unknown_error\)$/],
    ['tokens with status 500', json({ ...base, verification_uri: 'https://e.com/d' }, 500), /HTTP 500$/],
  ]
  for (const [name, raw, message] of cases) {
    let caught: unknown
    try {
      parseDeviceAuthorization(raw)
    } catch (err) {
      caught = err
    }
    t.ok(caught instanceof AppError && caught.code === 'PROVIDER_BAD_RESPONSE', `${name}: PROVIDER_BAD_RESPONSE`)
    t.match((caught as Error).message, message, name)
    t.notMatch((caught as Error).message, DEVICE_CODE, `${name}: nothing from the body but the error code`)
  }
})

t.test('parseDevicePoll maps each token endpoint answer (RFC 8628 §3.5)', async (t) => {
  const now = 1_700_000_000_000
  const p = {} as { responseRoot?: string }
  const cases: [string, RawResponse, unknown][] = [
    ['pending', json({ error: 'authorization_pending' }, 400), { kind: 'pending' }],
    ['pending, GitHub style (HTTP 200)', json({ error: 'authorization_pending', error_description: 'waiting' }), { kind: 'pending' }],
    ['slow_down', json({ error: 'slow_down' }, 400), { kind: 'slow_down' }],
    ['slow_down, GitHub style with a new interval', json({ error: 'slow_down', interval: 10 }), { kind: 'slow_down' }],
    ['access_denied', json({ error: 'access_denied' }, 400), { kind: 'ended', status: 'denied', error: 'access_denied' }],
    ['expired_token', json({ error: 'expired_token' }, 400), { kind: 'ended', status: 'expired', error: 'expired' }],
    ['another OAuth error', json({ error: 'invalid_client' }, 401), { kind: 'ended', status: 'failed', error: 'invalid_client' }],
    ['a 502 page', { status: 502, contentType: 'text/html', body: '<h1>Bad gateway</h1>' }, { kind: 'ended', status: 'failed', error: 'bad_response' }],
    ['200 without a token', json({ token_type: 'bearer' }), { kind: 'ended', status: 'failed', error: 'bad_response' }],
  ]
  for (const [name, raw, expected] of cases) t.same(parseDevicePoll(p, raw, now), expected, name)

  const tokens = parseDevicePoll(p, json({ access_token: 'at', refresh_token: 'rt', token_type: 'bearer', expires_in: 60, scope: 'read:user' }), now)
  t.same(tokens, {
    kind: 'tokens',
    outcome: { kind: 'tokens', entry: { type: 'oauth', access: 'at', refresh: 'rt', expires: now + 60_000, scope: 'read:user', tokenType: 'Bearer' }, grantedScopes: ['read:user'] },
  })
})

t.test('a browser flow replaced by a code says so in plain words', async (t) => {
  t.equal(describeFailure('superseded', 'GitHub'), 'it was replaced by a sign-in with a code')
})
