// Re-discovery against real peers (the SDK MCP server and oidc-provider with registration): stored
// metadata is checked again before it goes stale, a stale endpoint is replaced by the server's
// current one, and a server that cannot be reached keeps the old metadata.
import t from 'tap'
import { getDiscovered, saveDiscovered } from '../../src/db/discovered.js'
import { prepareUrlConnection } from '../../src/discovery/connect-url.js'
import { installDiscoveredProviders } from '../../src/discovery/install.js'
import type { Provider } from '../../src/providers/schema.js'
import { REDISCOVER_AFTER_MS, rediscoverProviders } from '../../src/discovery/rediscover.js'
import { getConnection } from '../../src/db/connections.js'
import { refreshDueTokens } from '../../src/oauth/refresh-job.js'
import { TokenSource } from '../../src/oauth/refresh.js'
import { connectInProcess } from '../support/connect.js'
import { testDeps, type Teardown } from '../support/deps.js'
import { mcpWorld } from '../support/mcp-world.js'

/** Connects the MCP server by URL, then makes its stored token endpoint one that no longer exists. */
async function connectedWithStaleEndpoint(t: Teardown) {
  const w = await mcpWorld(t)
  const deps = testDeps(t)
  const prepared = await prepareUrlConnection(deps, w.mcp.url)
  const id = prepared.provider.providerId
  const row = getDiscovered(deps.db, id)
  if (!row) throw new Error('not stored')
  const stale = `${w.as.issuer}/moved-away`
  saveDiscovered(deps.db, { ...row, definition: JSON.stringify({ ...JSON.parse(row.definition), tokenUrl: stale }) })
  return { w, deps, id, row, stale }
}

t.test('the refresh job discovers metadata again once it is due, and the provider uses the current endpoints', async (t) => {
  const { w, deps, id, row, stale } = await connectedWithStaleEndpoint(t)
  const tokenUrl = JSON.parse(row.definition).tokenUrl as string
  t.not(tokenUrl, stale)

  deps.clock.advance(REDISCOVER_AFTER_MS - 1000)
  t.same(await rediscoverProviders(deps), { updated: [], failed: [] }, 'not due yet: no request')
  t.match(JSON.parse(getDiscovered(deps.db, id)?.definition ?? '{}'), { tokenUrl: stale })

  deps.clock.advance(1000)
  const registrations = w.as.registrations.length
  t.same(await refreshDueTokens(deps), { refreshed: [], failing: [], needsReauth: [], reminded: [] })
  const after = getDiscovered(deps.db, id)
  t.equal(JSON.parse(after?.definition ?? '{}').tokenUrl, tokenUrl, 'the stored endpoint is the server’s current one')
  t.equal(after?.checkedAt, deps.clock.now())
  t.equal(after?.discoveredAt, row.discoveredAt, 'first discovery time kept')
  t.equal(deps.config.providers[id]?.tokenUrl, tokenUrl, 'installed again for every surface')
  t.ok(deps.config.providers[id]?.clientId, 'the registered client still used')
  t.equal(w.as.registrations.length, registrations, 'no new registration')
})

t.test('a failing endpoint triggers discovery at once, whatever the age', async (t) => {
  const { deps, id } = await connectedWithStaleEndpoint(t)
  t.same(await rediscoverProviders(deps, { only: id }), { updated: [id], failed: [] })
  t.notMatch(deps.config.providers[id]?.tokenUrl, /moved-away/)
})

t.test('a server that cannot be reached keeps the old metadata, with a warning', async (t) => {
  const { w, deps, id, stale } = await connectedWithStaleEndpoint(t)
  await w.mcp.close()
  deps.clock.advance(REDISCOVER_AFTER_MS)
  t.same(await rediscoverProviders(deps), { updated: [], failed: [id] })
  t.match(JSON.parse(getDiscovered(deps.db, id)?.definition ?? '{}'), { tokenUrl: stale }, 'nothing lost')
  t.match(deps.logs.text(), 'discovering a provider again failed; kept the old metadata')
})

/** A connection by URL made for real (DCR, code exchange), then a TokenSource on the same deps. */
async function connected(t: Teardown) {
  const w = await mcpWorld(t)
  const deps = testDeps(t)
  const id = (await prepareUrlConnection(deps, w.mcp.url)).provider.providerId
  await connectInProcess(deps, id)
  return { w, deps, id, tokens: new TokenSource(deps) }
}

t.test('a token endpoint answering 404: one re-discovery finds where it moved, and the refresh is sent there', async (t) => {
  const { w, deps, id, tokens } = await connected(t)
  const first = await tokens.getAccessToken(id, { minValidityMs: 0 })
  w.as.moveTokenEndpoint('/oauth2/token')
  const refreshes = () => w.as.tokenRequests.filter((r) => r.grantType === 'refresh_token')
  const second = await tokens.getAccessToken(id, { minValidityMs: 60_000 }) // more than a 5 s token has: a refresh
  t.not(second, first, 'refreshed')
  t.equal(refreshes().length, 1, 'the refresh token was presented once, at the new endpoint (the old one answered 404)')
  t.equal(refreshes()[0]?.status, 200)
  t.equal(deps.config.providers[id]?.tokenUrl, `${w.as.issuer}/oauth2/token`, 'installed with the new endpoint')
  t.equal(JSON.parse(getDiscovered(deps.db, id)?.definition ?? '{}').tokenUrl, `${w.as.issuer}/oauth2/token`, 'and stored')
  t.match(getConnection(deps.db, id), { status: 'ok', failureCount: 0 }, 'not needs_reauth, not failing')
  t.match(deps.logs.text(), 'token endpoint moved (found by discovery): refresh sent to the new one')
})

t.test('a token endpoint answering 404 with the same metadata: no retry, failing with back-off, never needs_reauth', async (t) => {
  const { w, deps, id, tokens } = await connected(t)
  await tokens.getAccessToken(id, { minValidityMs: 0 })
  w.as.moveTokenEndpoint('/hidden', { announce: false })
  const entry = await tokens.getEntry(id, 60_000) // the current token is still valid: kept while refreshing fails
  t.ok(entry.access)
  t.equal(w.as.tokenRequests.filter((r) => r.grantType === 'refresh_token').length, 0, 'nothing reached the token endpoint')
  t.match(getConnection(deps.db, id), { status: 'failing', failureCount: 1 })
  t.notMatch(deps.logs.text(), 'token endpoint moved')
  t.match(deps.logs.text(), 'token refresh refused')
})

t.test('a job worker gets the daemon config with discovered providers in it: installed again from SQLite, no warning', async (t) => {
  const { deps, id, stale } = await connectedWithStaleEndpoint(t)
  t.notMatch(deps.config.providers[id]?.tokenUrl, /moved-away/)
  installDiscoveredProviders(deps.config, deps.db, deps.log)
  t.equal(deps.config.providers[id]?.tokenUrl, stale, 'the stored copy wins over the one passed along')
  t.notMatch(deps.logs.text(), 'the configured one wins')
  // A provider of another server configured under the same id is left alone, with a warning.
  const other = { ...(deps.config.providers[id] as Provider), issuer: 'https://other.example.com', tokenUrl: 'https://other.example.com/token' }
  ;(deps.config.providers as Record<string, Provider>)[id] = other
  installDiscoveredProviders(deps.config, deps.db, deps.log)
  t.equal(deps.config.providers[id], other)
  t.match(deps.logs.text(), 'a configured provider has the id of a discovered one; the configured one wins')
})
