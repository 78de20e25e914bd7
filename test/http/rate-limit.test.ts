// Issue 9 item 10: the per-peer rate limit answers 429 rate_limited with Retry-After.
import t from 'tap'
import { buildServer } from '../../src/http/server.js'
import { testDeps } from '../support/deps.js'

t.test('past the limit: 429, error rate_limited, Retry-After in seconds', async (t) => {
  const deps = testDeps(t)
  const app = await buildServer(deps, { apiToken: 'test-api-token-0123456789abcdef-0123456789', rateLimitPerMinute: 3 })
  t.teardown(() => app.close())
  for (let i = 0; i < 3; i++) t.equal((await app.inject({ method: 'GET', url: '/healthz' })).statusCode, 200)
  const limited = await app.inject({ method: 'GET', url: '/healthz' })
  t.equal(limited.statusCode, 429)
  t.equal(limited.json().error, 'rate_limited')
  t.match(limited.json().message, /try again in/)
  t.match(String(limited.headers['retry-after']), /^\d+$/, 'Retry-After says when')
  t.ok(Number(limited.headers['retry-after']) > 0 && Number(limited.headers['retry-after']) <= 60)
})
