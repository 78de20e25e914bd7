// The setup that CLI and child-process tests share: oidc-provider on loopback with one client for
// a provider "acme", and a config file on disk pointing latchkey at it (for `latchkey` processes).
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { freePort, tempDir, type Teardown } from './deps.js'
import { startOidcServer, type OidcServer } from './oidc-server.js'

export interface AcmeWorld {
  as: OidcServer
  port: number
  /** http://127.0.0.1:<port>, where the daemon will listen. */
  base: string
  dir: string
  configPath: string
  authFile: string
  /** LATCHKEY_CONFIG and HOME for a `latchkey` process or main(). */
  env: { LATCHKEY_CONFIG: string; HOME: string }
}

export async function acmeWorld(
  t: Teardown,
  opts: { clientId: string; clientSecret: string; basicAuth?: boolean; authSubdir?: string; config?: Record<string, unknown>; accessTokenTtlSeconds?: number },
): Promise<AcmeWorld> {
  const port = await freePort()
  const base = `http://127.0.0.1:${port}`
  const authMethod = opts.basicAuth ? 'client_secret_basic' : 'client_secret_post'
  const as = await startOidcServer({
    clients: [{ clientId: opts.clientId, clientSecret: opts.clientSecret, redirectUris: [`${base}/oauth/callback`], authMethod }],
    ...(opts.accessTokenTtlSeconds ? { accessTokenTtlSeconds: opts.accessTokenTtlSeconds } : {}),
  })
  t.teardown(() => as.close())
  const dir = tempDir(t)
  const configPath = join(dir, 'config.json')
  const authFile = join(dir, ...(opts.authSubdir ? [opts.authSubdir] : []), 'auth.json')
  const acme = { displayName: 'Acme', authorizationUrl: as.authorizationUrl, tokenUrl: as.tokenUrl, clientId: opts.clientId, clientSecret: opts.clientSecret, scopes: ['offline_access'] }
  writeFileSync(
    configPath,
    JSON.stringify({
      listen: { host: '127.0.0.1', port },
      dataDir: join(dir, 'data'),
      authFile,
      providers: { acme: opts.basicAuth ? { ...acme, clientAuth: 'basic' } : acme },
      ...opts.config,
    }),
  )
  return { as, port, base, dir, configPath, authFile, env: { LATCHKEY_CONFIG: configPath, HOME: dir } }
}
