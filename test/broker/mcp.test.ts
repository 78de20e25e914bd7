// The MCP surfaces, driven by the official SDK's client: POST /mcp over Streamable HTTP, `latchkey
// mcp` over stdio as a child process, and an SDK MCP server behind /proxy/<id>/mcp.
import { Client } from '@modelcontextprotocol/sdk/client/index.js'
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js'
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { listAudit } from '../../src/broker/audit.js'
import { upsertReadings } from '../../src/integrations/dexcom/store.js'
import { BIN } from '../support/child-daemon.js'
import { tempDir, type Teardown } from '../support/deps.js'
import { brokerWorld, CLIENT_SECRET, type BrokerWorld } from './world.js'

let shared: Promise<BrokerWorld> | undefined
const world = () => (shared ??= brokerWorld(t, { broker: { toolTextLimit: 1000 } }))

async function httpClient(t: Teardown, url: string, token: string): Promise<Client> {
  const client = new Client({ name: 'test', version: '1.0.0' })
  await client.connect(new StreamableHTTPClientTransport(new URL(url), { requestInit: { headers: { authorization: `Bearer ${token}` } } }))
  t.teardown(() => client.close())
  return client
}

type ToolText = { content: { type: string; text: string }[]; isError?: boolean }
const textOf = (r: unknown) => (r as ToolText).content.map((c) => c.text).join('\n')

const results: string[] = []
async function call(client: Client, name: string, args: Record<string, unknown> = {}): Promise<{ text: string; isError: boolean }> {
  const r = (await client.callTool({ name, arguments: args })) as ToolText
  results.push(textOf(r))
  return { text: textOf(r), isError: r.isError === true }
}

t.test('POST /mcp: tools limited by the caller scopes', async (t) => {
  const w = await world()
  const reader = w.agent('mcp-reader', ['acme:GET:/v1/'])
  const client = await httpClient(t, `${w.d.config.publicUrl}/mcp`, reader)
  const tools = (await client.listTools()).tools.map((x) => x.name).sort()
  t.same(tools, ['connect', 'http_request', 'list_connections', 'report_insufficient_scope'], 'no glucose_readings without a Dexcom scope')
  const listed = JSON.parse((await call(client, 'list_connections')).text) as Record<string, unknown>[]
  t.same(listed.map((c) => c.id), ['acme'], 'only connections in scope')
  t.match(listed[0], { id: 'acme', provider: 'Acme', status: 'ok', expiresAt: String })
  const me = await call(client, 'http_request', { connection: 'acme', path: '/v1/me', query: { a: '1' } })
  t.notOk(me.isError)
  t.match(JSON.parse(me.text), { status: 200, body: '{"sub":"user-1","query":"?a=1"}' })
  const denied = await call(client, 'http_request', { connection: 'acme', method: 'POST', path: '/v1/echo', body: 'x' })
  t.ok(denied.isError)
  t.match(JSON.parse(denied.text), { status: 403, error: 'forbidden' })
  const hostile = await call(client, 'http_request', { connection: 'acme', path: '/v1/../../x' })
  t.match(JSON.parse(hostile.text), { status: 400, error: 'invalid_path' })
  t.ok(listAudit(w.d.daemon.deps.db, 0).some((r) => r.agent === 'mcp-reader' && r.path === '/v1/me' && r.status === 200), 'MCP requests are audited')

  const none = await fetch(`${w.d.config.publicUrl}/mcp`, { method: 'POST', headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream' }, body: '{}' })
  t.equal(none.status, 401)
  t.match(await none.json(), { error: 'unauthorized' })
})

t.test('http_request output is cut at toolTextLimit; glucose_readings with a Dexcom scope', async (t) => {
  const w = await world()
  const dexcom = w.d.daemon.deps.config.dexcom.provider
  const token = w.agent('mcp-all', ['acme', dexcom])
  const client = await httpClient(t, `${w.d.config.publicUrl}/mcp`, token)
  const big = JSON.parse((await call(client, 'http_request', { connection: 'acme', path: '/big?bytes=50000' })).text) as { body: string; truncated?: boolean; note?: string }
  t.equal(big.body.length, 1000)
  t.equal(big.truncated, true)
  t.match(big.note, /1000 bytes/)
  const now = Date.now()
  upsertReadings(w.d.daemon.deps.db, dexcom, [60, 120, 200].map((value, i) => ({ recordId: `r${i}`, systemTime: now - (i + 1) * 300_000, displayTime: null, value, status: null, trend: 'flat', trendRate: null, unit: 'mg/dL', rateUnit: null, displayDevice: null, transmitterGeneration: null, transmitterGenerationVariant: null, transmitterId: null, transmitterTicks: null, displayApp: null })) as never, now)
  const g = JSON.parse((await call(client, 'glucose_readings', { since: '1h' })).text) as { summary: { count: number; timeInRange: Record<string, number> }; readings: unknown[] }
  t.equal(g.summary.count, 3)
  t.same(g.summary.timeInRange, { readings: 3, below: 1, inRange: 1, above: 1 })
  t.equal(g.readings.length, 3)
  t.ok((await call(client, 'glucose_readings', { since: 'yesterday' })).isError, 'a bad since is a clear error')
})

t.test('connect: returns the link (no bot here) and says what happened after the wait', async (t) => {
  const w = await world()
  const token = w.agent('mcp-connect', ['acme'])
  const client = await httpClient(t, `${w.d.config.publicUrl}/mcp`, token)
  const r = JSON.parse((await call(client, 'connect', { provider: 'acme', waitSeconds: 0 })).text) as Record<string, unknown>
  t.match(r, { provider: 'acme', status: 'waiting', sentToChat: false, link: new RegExp(`^${w.d.config.publicUrl}/oauth/start/`) })
  const outside = await call(client, 'connect', { provider: 'github' })
  t.ok(outside.isError)
  t.match(outside.text, /may not use github/)
})

t.test('latchkey mcp over stdio (a child process) relays to the daemon with LATCHKEY_AGENT_TOKEN', async (t) => {
  const w = await world()
  const token = w.agent('stdio-agent', ['acme:GET'])
  const dir = tempDir(t)
  const configPath = join(dir, 'config.json')
  writeFileSync(configPath, JSON.stringify({ listen: { host: '127.0.0.1', port: w.d.config.listen.port }, dataDir: join(dir, 'data') }))
  const transport = new StdioClientTransport({ command: process.execPath, args: [BIN, 'mcp'], env: { ...process.env, LATCHKEY_CONFIG: configPath, HOME: dir, LATCHKEY_AGENT_TOKEN: token } as Record<string, string>, stderr: 'pipe' })
  const client = new Client({ name: 'stdio-test', version: '1.0.0' })
  await client.connect(transport)
  t.teardown(() => client.close())
  t.same((await client.listTools()).tools.map((x) => x.name).sort(), ['connect', 'http_request', 'list_connections', 'report_insufficient_scope'])
  const me = await call(client, 'http_request', { connection: 'acme', path: '/v1/me' })
  t.match(JSON.parse(me.text), { status: 200 })
  t.ok(listAudit(w.d.daemon.deps.db, 0).some((r) => r.agent === 'stdio-agent'), 'the call ran as the agent')
})

t.test('an MCP server (SDK, sessions, SSE) behind /proxy/<id>/mcp, driven by the SDK client', async (t) => {
  const w = await world()
  const token = w.agent('mcp-through', ['acme:*:/mcp'])
  const client = await httpClient(t, `${w.d.config.publicUrl}/proxy/acme/mcp`, token)
  t.same((await client.listTools()).tools.map((x) => x.name), ['whoami'])
  t.equal(textOf(await client.callTool({ name: 'whoami', arguments: {} })), 'user-1')
  const seen = w.api.seen.filter((s) => s.url === '/api/mcp')
  t.ok(seen.length >= 3)
  t.ok(seen.slice(1).every((s) => typeof s.headers['mcp-session-id'] === 'string'), 'Mcp-Session-Id went upstream')
  t.ok(seen.slice(1).some((s) => typeof s.headers['mcp-protocol-version'] === 'string'), 'MCP-Protocol-Version went upstream')
  t.notOk(seen.some((s) => s.headers.authorization === `Bearer ${token}`), 'the agent token never went upstream')
})

t.test('canary: no provider token or client secret in any tool result or log', async (t) => {
  const w = await world()
  const secrets = [...w.issued(), CLIENT_SECRET]
  t.ok(results.length > 5 && secrets.length >= 2)
  const all = [results.join('\n'), w.d.logs.text()].join('\n')
  for (const s of secrets) t.notOk(all.includes(s), 'a provider secret leaked')
})
