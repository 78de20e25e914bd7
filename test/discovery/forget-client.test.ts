// Disconnecting a connection made by URL, as real processes of the built bin, against the SDK MCP
// server and oidc-provider (registration, RFC 7009 revocation): the registered client is kept
// unless --forget-client, and a connect after forgetting registers a new one.
import { execFile } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { promisify } from 'node:util'
import t from 'tap'
import { managementOf } from '../../src/discovery/register.js'
import { deleteClientAtServer } from '../../src/discovery/unregister.js'
import { BIN } from '../support/child-daemon.js'
import { CookieBrowser } from '../support/cookie-browser.js'
import { startTestDaemon, type TestDaemon } from '../support/daemon.js'
import { tempDir } from '../support/deps.js'
import { mcpWorld } from '../support/mcp-world.js'

const run = promisify(execFile)

/** A config file for latchkey processes on the daemon's data; `latchkey <args>` as a child process. */
function cli(t: Parameters<typeof tempDir>[0], d: TestDaemon): (...args: string[]) => Promise<{ stdout: string; stderr: string }> {
  const dir = tempDir(t)
  const configPath = join(dir, 'config.json')
  writeFileSync(configPath, JSON.stringify({ dataDir: d.config.dataDir, authFile: d.config.authFile, publicUrl: d.config.publicUrl, listen: d.config.listen, logLevel: 'warn' }))
  return (...args) => run(process.execPath, [BIN, ...args], { env: { ...process.env, LATCHKEY_CONFIG: configPath, HOME: dir } })
}

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
  t.same(await disconnect(id), { provider: id, tokensRemoved: true, revocation: 'revoked', credentialsForgotten: false, clientForgotten: false, clientDeletion: null })
  t.equal(clients(), 1, 'kept when not asked')

  t.equal(await connectUrl(d, mcp.url), id)
  t.equal(as.registrations.length, 1, 'the kept client is reused')
  const host = new URL(as.issuer).host
  t.same(await disconnect(id, '--forget-client'), { provider: id, tokensRemoved: true, revocation: 'revoked', credentialsForgotten: false, clientForgotten: true, clientDeletion: { server: host, result: 'unsupported' } })
  t.equal(clients(), 0, 'deleted when asked')
  t.same(as.deletions.map((x) => x.status), [404], 'a configuration endpoint without DELETE (oidc-provider without registrationManagement): forgotten here only')

  t.equal(await connectUrl(d, mcp.url), id, 'the same id after forgetting')
  t.equal(as.registrations.length, 2, 'a new client registered')
})

t.test('--forget-client deletes the client at a server that supports RFC 7592, and says so', async (t) => {
  const { mcp, as } = await mcpWorld(t, { registrationManagement: true })
  const d = await startTestDaemon(t)
  const latchkey = cli(t, d)
  const id = await connectUrl(d, mcp.url)
  const row = d.daemon.deps.db.prepare('SELECT * FROM client_management').get() as { issuer: string; registration_client_uri: string; registration_access_token: string }
  t.equal(row.issuer, as.issuer)
  const clientId = d.daemon.deps.db.prepare('SELECT client_id FROM registered_clients').pluck().get() as string
  t.equal(row.registration_client_uri, `${as.issuer}/reg/${clientId}`, 'the management URI from the registration answer')
  const before = await fetch(row.registration_client_uri, { headers: { authorization: `Bearer ${row.registration_access_token}` } })
  t.equal(before.status, 200, 'the client exists at the server')

  const out = await latchkey('disconnect', id, '--forget-client')
  const host = new URL(as.issuer).host
  t.equal(out.stdout.trim(), `${new URL(mcp.url).host} disconnected: tokens removed from auth.json; revoked at ${new URL(mcp.url).host}; latchkey's registered client deleted here and at ${host}.`)
  t.same(as.deletions, [{ path: `/reg/${clientId}`, status: 204 }], 'one DELETE with the registration access token')
  const after = await fetch(row.registration_client_uri, { headers: { authorization: `Bearer ${row.registration_access_token}` } })
  t.not(after.status, 200, 'the client is gone at the server')
  await after.body?.cancel()
  t.equal(d.daemon.deps.db.prepare('SELECT COUNT(*) FROM client_management').pluck().get(), 0)
  t.equal(d.daemon.deps.db.prepare('SELECT COUNT(*) FROM registered_clients').pluck().get(), 0)
  t.notOk(`${out.stdout}${out.stderr}${d.logs.text()}`.includes(row.registration_access_token), 'the registration access token is never printed or logged')

  t.equal(await connectUrl(d, mcp.url), id, 'connecting again registers a new client')
  t.equal(as.registrations.length, 2)
})

t.test('RFC 7592 management is kept only for a URI on the registration endpoint origin', async (t) => {
  const reg = 'https://as.example.com/register'
  t.same(managementOf({ registration_client_uri: 'https://as.example.com/register/c1', registration_access_token: 'rat' }, reg), { management: { uri: 'https://as.example.com/register/c1', accessToken: 'rat' } })
  t.same(managementOf({ registration_client_uri: 'https://evil.example.net/c1', registration_access_token: 'rat' }, reg), {}, 'another origin: the token would leave the server')
  t.same(managementOf({ registration_client_uri: 'http://as.example.com/register/c1', registration_access_token: 'rat' }, 'http://as.example.com/register'), {}, 'plain http off loopback')
  t.same(managementOf({ registration_client_uri: 'https://as.example.com/register/c1' }, reg), {}, 'no token')
  t.same(managementOf(undefined, reg), {})
  t.equal(await deleteClientAtServer(undefined), 'unsupported', 'no management: nothing sent')
})
