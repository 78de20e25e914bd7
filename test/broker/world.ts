// The broker's world: oidc-provider issuing tokens, a resource API on loopback that checks them by
// introspection, and the real daemon (HTTP + scheduler) with "acme" connected for real.
import { addAgent } from '../../src/broker/agents.js'
import { systemClock } from '../../src/clock.js'
import { connectInProcess } from '../support/connect.js'
import { startTestDaemon, TEST_API_TOKEN, type TestDaemon } from '../support/daemon.js'
import { freePort, type Teardown, type TestDeps } from '../support/deps.js'
import { startOidcServer, type OidcServer } from '../support/oidc-server.js'
import { startResourceApi, type ResourceApi } from '../support/resource-api.js'

export const CLIENT_ID = 'acme-broker-client'
export const CLIENT_SECRET = 'acme-broker-secret-CANARY-0123456789'

export interface BrokerWorld {
  as: OidcServer
  api: ResourceApi
  d: TestDaemon
  /** fetch through the daemon with a Bearer token (the API token by default). */
  call(path: string, init?: RequestInit & { token?: string }): Promise<Response>
  /** Creates an agent and returns its token. */
  agent(name: string, specs: string[]): string
  /** Every provider token the authorization server has issued so far. */
  issued(): string[]
}

export async function brokerWorld(t: Teardown, raw: Record<string, unknown> = {}, providers: Record<string, unknown> = {}): Promise<BrokerWorld> {
  const port = await freePort()
  const as = await startOidcServer({ clients: [{ clientId: CLIENT_ID, clientSecret: CLIENT_SECRET, redirectUris: [`http://127.0.0.1:${port}/oauth/callback`], authMethod: 'client_secret_post' }], accessTokenTtlSeconds: 600 })
  t.teardown(() => as.close())
  const api = await startResourceApi(t, { url: `${as.issuer}/token/introspection`, clientId: CLIENT_ID, clientSecret: CLIENT_SECRET })
  const d = await startTestDaemon(t, {
    listen: { host: '127.0.0.1', port },
    publicUrl: `http://127.0.0.1:${port}`,
    providers: {
      acme: { displayName: 'Acme', authorizationUrl: as.authorizationUrl, tokenUrl: as.tokenUrl, clientId: CLIENT_ID, clientSecret: CLIENT_SECRET, scopes: ['offline_access'], apiBaseUrl: api.base },
      noapi: { displayName: 'No API', authorizationUrl: as.authorizationUrl, tokenUrl: as.tokenUrl, clientId: CLIENT_ID },
      ...providers,
    },
    ...raw,
  })
  await connectInProcess({ ...d.daemon.deps, clock: systemClock } as unknown as TestDeps, 'acme')
  return {
    as,
    api,
    d,
    call: (path, init = {}) => {
      const { token, ...rest } = init
      return fetch(`${d.config.publicUrl}${path}`, { ...rest, headers: { authorization: `Bearer ${token ?? TEST_API_TOKEN}`, ...(rest.headers as Record<string, string>) } })
    },
    agent: (name, specs) => addAgent(d.daemon.deps.db, name, specs, Date.now()).token,
    issued: () => as.tokenRequests.flatMap((r) => r.issued),
  }
}
