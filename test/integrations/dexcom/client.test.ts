// The client's HTTP policy against a recording server on loopback, for the cases the simulator
// does not produce (an HTTP-date Retry-After, a 429 without one, a server that is down).
import { mkdirSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { dirname } from 'node:path'
import t from 'tap'
import { RateLimitedError, createDexcomClient, fetchDataRange, fetchDevices, fetchEgvs, retryAfterMs } from '../../../src/integrations/dexcom/client.js'
import { TokenSource } from '../../../src/oauth/refresh.js'
import { fakeServer, freePort, testConfig, testDeps, type Teardown } from '../../support/deps.js'

const ACCESS = 'access-token-canary-5d1e'

async function setup(t: Teardown, apiBaseUrl: string) {
  const config = testConfig(t, {
    providers: { 'dexcom-sandbox': { apiBaseUrl, tokenUrl: `${apiBaseUrl}/v2/oauth2/token`, authorizationUrl: `${apiBaseUrl}/v2/oauth2/login`, clientId: 'c', clientSecret: 's' } },
    dexcom: { provider: 'dexcom-sandbox' },
  })
  const deps = testDeps(t, { config })
  mkdirSync(dirname(config.authFile), { recursive: true })
  writeFileSync(config.authFile, JSON.stringify({ 'dexcom-sandbox': { type: 'oauth', access: ACCESS, refresh: 'refresh-canary', expires: deps.clock.now() + 3_600_000 } }))
  const waits: number[] = []
  const client = createDexcomClient(deps, new TokenSource(deps), 'dexcom-sandbox', { sleep: async (ms) => void waits.push(ms) })
  return { deps, client, waits }
}

t.test('Retry-After: seconds, an HTTP date, or nothing usable', async (t) => {
  const now = Date.UTC(2026, 0, 1, 12, 0, 0)
  t.equal(retryAfterMs('120', now), 120_000)
  t.equal(retryAfterMs(' 0 ', now), 0)
  t.equal(retryAfterMs('Thu, 01 Jan 2026 12:00:30 GMT', now), 30_000)
  t.equal(retryAfterMs('Thu, 01 Jan 2026 11:00:00 GMT', now), 0, 'a date in the past: at once')
  t.equal(retryAfterMs(['5', '9'], now), 5000)
  t.equal(retryAfterMs(undefined, now), undefined)
  t.equal(retryAfterMs('soon', now), undefined)
  t.equal(retryAfterMs('-5', now), undefined)
})

t.test('GETs carry the bearer token and the documented query forms', async (t) => {
  const api = await fakeServer(t, () => ({ json: { recordType: 'egv', records: [] } }))
  const { client } = await setup(t, api.url)
  await fetchEgvs(client, { start: Date.UTC(2025, 1, 6, 9, 12, 35, 900), end: Date.UTC(2025, 1, 7) })
  await fetchDevices(client)
  await fetchDataRange(client, { lastSyncTime: Date.UTC(2025, 1, 6), now: Date.UTC(2025, 1, 7) })
  await fetchDataRange(client, { lastSyncTime: Date.UTC(2024, 1, 6), now: Date.UTC(2025, 1, 7) })
  t.same(api.requests.map((r) => [r.method, r.url]), [
    ['GET', '/v3/users/self/egvs?startDate=2025-02-06T09%3A12%3A35&endDate=2025-02-07T00%3A00%3A00'],
    ['GET', '/v3/users/self/devices'],
    ['GET', '/v3/users/self/dataRange?lastSyncTime=2025-02-06T00%3A00%3A00%2B00%3A00'],
    ['GET', '/v3/users/self/dataRange'],
  ])
  t.equal(api.requests[0]?.headers.authorization, `Bearer ${ACCESS}`)
  t.throws(() => fetchEgvs(client, { start: 0, end: 31 * 86_400_000 }), { message: '"range" must span at most 30 days' })
  t.throws(() => fetchEgvs(client, { start: 10, end: 10 }), { message: '"range.end" must be after "range.start"' })
})

t.test('429: an HTTP-date Retry-After is waited out; a missing one (a minute) ends the call with RATE_LIMITED', async (t) => {
  const answers = [
    { status: 429, headers: { 'retry-after': new Date(Date.UTC(2026, 10, 25, 12, 0, 20)).toUTCString() } },
    { status: 200, headers: {} },
    { status: 429, headers: {} },
  ]
  const seen: string[] = []
  const server = createServer((req, res) => {
    seen.push(String(req.url))
    const a = answers.shift() ?? { status: 500, headers: {} }
    res.writeHead(a.status, { 'content-type': 'application/json', ...a.headers })
    res.end('{}')
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())))
  const { client, waits, deps } = await setup(t, `http://127.0.0.1:${(server.address() as AddressInfo).port}`)
  t.equal(deps.clock.now(), Date.UTC(2026, 10, 25, 12, 0, 0))
  t.equal((await client.get('/v3/users/self/devices')).status, 200)
  t.same(waits, [20_000], 'waited until the date given')
  const err = await client.get('/v3/users/self/devices').catch((e: unknown) => e)
  t.ok(err instanceof RateLimitedError)
  t.equal((err as RateLimitedError).code, 'RATE_LIMITED')
  t.equal((err as RateLimitedError).retryAt, deps.clock.now() + 60_000)
  t.same(waits, [20_000], 'a minute is not waited in place')
  t.equal(seen.length, 3)
})

t.test('a server that is down: retried with backoff, then PROVIDER_UNREACHABLE without the token', async (t) => {
  const { client, waits } = await setup(t, `http://127.0.0.1:${await freePort()}`)
  const err = (await client.get('/v3/users/self/devices').catch((e: unknown) => e)) as Error & { code: string }
  t.equal(err.code, 'PROVIDER_UNREACHABLE')
  t.match(err.message, /^could not reach Dexcom at 127\.0\.0\.1:\d+ \(ECONNREFUSED\)$/)
  t.same(waits, [1_000, 2_000, 4_000])
  t.notOk(JSON.stringify({ ...err, message: err.message, stack: err.stack }).includes(ACCESS), 'no token in the error')
  t.equal(err.cause, undefined, 'the got error (which holds the headers) is not attached')
})

t.test('a provider without apiBaseUrl is PROVIDER_NOT_CONFIGURED', async (t) => {
  const deps = testDeps(t)
  t.throws(() => createDexcomClient({ ...deps, config: { ...deps.config, providers: { x: { ...(deps.config.providers.dexcom as object), apiBaseUrl: undefined, providerId: 'x' } as never } } }, new TokenSource(deps), 'x'), {
    code: 'PROVIDER_NOT_CONFIGURED',
  })
})
