// The refresh race that logs users out of other tools (oauth-security.md §6): 5 OS processes ×
// 20 concurrent getAccessToken() calls on an expired token, against oidc-provider that revokes
// the whole grant when a rotated refresh token is reused.
import { fork } from 'node:child_process'
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import t from 'tap'
import { updateAuthFile } from '../../src/store/auth-json.js'
import { connectInProcess } from '../support/connect.js'
import { tempDir, testConfig, testDeps } from '../support/deps.js'
import { startOidcServer } from '../support/oidc-server.js'

const CHILD = fileURLToPath(new URL('../support/child-token.ts', import.meta.url))

t.test('5 processes × 20 calls at expiry: one refresh request, one new token, no invalid_grant', async (t) => {
  const dir = tempDir(t)
  const raw = { dataDir: join(dir, 'data'), authFile: join(dir, 'auth.json'), apiToken: 'race-test-api-token-0123456789abcdef0123' }
  const config0 = testConfig(t, raw)
  const as = await startOidcServer({ accessTokenTtlSeconds: 300, clients: [{ clientId: 'race', clientSecret: 'race-secret', redirectUris: [config0.redirectUri], authMethod: 'client_secret_post' }] })
  t.teardown(() => as.close())
  const provider = { displayName: 'Race', authorizationUrl: as.authorizationUrl, tokenUrl: as.tokenUrl, clientId: 'race', clientSecret: 'race-secret', scopes: ['offline_access'] }
  const fullRaw = { ...raw, providers: { race: provider } }
  const deps = testDeps(t, { config: testConfig(t, fullRaw), now: Date.now() })
  await connectInProcess(deps, 'race')
  // Expire the access token (the refresh token stays valid).
  await updateAuthFile(deps.config.authFile, (auth) => ({ ...auth, race: { ...(auth.race as object), expires: Date.now() - 1000 } }))
  const configFile = join(dir, 'config.json')
  writeFileSync(configFile, JSON.stringify(fullRaw))
  const before = as.tokenRequests.length

  const children = Array.from({ length: 5 }, () => {
    const child = fork(CHILD, [configFile, 'race', '20'], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'pipe', 'pipe', 'ipc'] })
    let out = ''
    let err = ''
    child.stdout?.on('data', (c) => (out += c))
    child.stderr?.on('data', (c) => (err += c))
    const ready = new Promise<void>((resolve) => child.once('message', () => resolve()))
    const done = new Promise<{ tokens: string[]; errors: string[]; stderr: string }>((resolve) =>
      child.once('exit', () => resolve({ ...(JSON.parse(out || '{"tokens":[],"errors":["no output"]}') as { tokens: string[]; errors: string[] }), stderr: err })),
    )
    return { child, ready, done }
  })
  await Promise.all(children.map((c) => c.ready))
  for (const c of children) c.child.send('go') // all start together
  const results = await Promise.all(children.map((c) => c.done))

  const refreshes = as.tokenRequests.slice(before).filter((r) => r.grantType === 'refresh_token')
  t.equal(refreshes.length, 1, 'exactly one refresh request reached the authorization server')
  t.notOk(as.tokenRequests.some((r) => r.error === 'invalid_grant'), 'no invalid_grant')
  const all = results.flatMap((r) => r.tokens)
  t.same(results.flatMap((r) => r.errors), [], 'no call failed')
  t.equal(all.length, 100, 'all 100 calls returned')
  t.equal(new Set(all).size, 1, 'all returned the same token')
  const stored = JSON.parse(readFileSync(deps.config.authFile, 'utf8')).race
  t.equal(all[0], stored.access, 'and it is the one in auth.json')
  t.ok(stored.expires > Date.now(), 'which is valid')
})
