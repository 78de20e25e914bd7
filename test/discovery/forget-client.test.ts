// Disconnecting a connection made by URL, as real processes of the built bin, against the SDK MCP
// server and oidc-provider (registration, RFC 7009 revocation): the registered client is kept
// unless --forget-client, and a connect after forgetting registers a new one.
import { execFile } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { promisify } from 'node:util'
import t from 'tap'
import { BIN } from '../support/child-daemon.js'
import { CookieBrowser } from '../support/cookie-browser.js'
import { startTestDaemon, type TestDaemon } from '../support/daemon.js'
import { tempDir } from '../support/deps.js'
import { mcpWorld } from '../support/mcp-world.js'

const run = promisify(execFile)

async function connectUrl(d: TestDaemon, url: string): Promise<string> {
  const res = await d.api('/oauth/flows', { method: 'POST', body: JSON.stringify({ url }) })
  const body = (await res.json()) as { provider: string; startUrl: string; state: string }
  await new CookieBrowser().get(body.startUrl)
  const pending = (await (await d.api(`/oauth/pending/${body.state}?wait=60`)).json()) as { status: string }
  if (pending.status !== 'connected') throw new Error(`not connected: ${JSON.stringify(pending)}`)
  return body.provider
}

t.test('disconnect keeps the registered client; --forget-client deletes it after revoking', async (t) => {
  const { mcp, as } = await mcpWorld(t)
  const d = await startTestDaemon(t)
  const dir = tempDir(t)
  const configPath = join(dir, 'config.json')
  writeFileSync(configPath, JSON.stringify({ dataDir: d.config.dataDir, authFile: d.config.authFile, publicUrl: d.config.publicUrl, listen: d.config.listen, logLevel: 'warn' }))
  const disconnect = async (...args: string[]) =>
    JSON.parse((await run(process.execPath, [BIN, 'disconnect', ...args, '--json'], { env: { ...process.env, LATCHKEY_CONFIG: configPath, HOME: dir } })).stdout) as Record<string, unknown>
  const clients = () => (d.daemon.deps.db.prepare('SELECT COUNT(*) AS n FROM registered_clients').get() as { n: number }).n

  const id = await connectUrl(d, mcp.url)
  t.equal(as.registrations.length, 1)
  t.same(await disconnect(id), { provider: id, tokensRemoved: true, revocation: 'revoked', credentialsForgotten: false, clientForgotten: false })
  t.equal(clients(), 1, 'kept when not asked')

  t.equal(await connectUrl(d, mcp.url), id)
  t.equal(as.registrations.length, 1, 'the kept client is reused')
  t.same(await disconnect(id, '--forget-client'), { provider: id, tokensRemoved: true, revocation: 'revoked', credentialsForgotten: false, clientForgotten: true })
  t.equal(clients(), 0, 'deleted when asked')

  t.equal(await connectUrl(d, mcp.url), id, 'the same id after forgetting')
  t.equal(as.registrations.length, 2, 'a new client registered')
})
