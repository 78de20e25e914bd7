// A 403 insufficient_scope seen later (mcp-auth.md §1.9), end to end against real peers: an MCP
// server built with the SDK whose `admin` tool needs a scope the connection was not granted,
// oidc-provider (registration, resource indicators), the loopback Bot API server and chromium.
// The proxy passes the 403 on with latchkey-reconsent; the chat gets one "Approve more access";
// its flow asks for the union; after approval the granted scopes grow and the tool works.
import { Client } from '@modelcontextprotocol/sdk/client/index.js'
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js'
import t from 'tap'
import { addAgent } from '../../src/broker/agents.js'
import { getConnection } from '../../src/db/connections.js'
import { upsertConsent } from '../../src/db/connections.js'
import { getFlowByState } from '../../src/db/oauth-flows.js'
import { deleteScopeOffers } from '../../src/db/scope-offers.js'
import { startFlow } from '../../src/oauth/flow.js'
import { getProvider } from '../../src/providers/lookup.js'
import { insufficientScope, offerStepUp, stepUpScopes } from '../../src/oauth/step-up.js'
import { testConfig, testDeps } from '../support/deps.js'
import { TEST_BOT_TOKEN, buttons } from '../support/bot-api-server.js'
import { chromiumAvailable, launchChromium } from '../support/chromium.js'
import { CookieBrowser } from '../support/cookie-browser.js'
import type { Teardown } from '../support/deps.js'
import { mcpWorld } from '../support/mcp-world.js'
import { USER, botWorld, editOf, linkMessageIdOf, say, until, type BotWorld } from '../bot/harness.js'

type ToolText = { content: { type: string; text: string }[]; isError?: boolean }

async function mcpClient(t: Teardown, url: string, token: string): Promise<Client> {
  const client = new Client({ name: 'step-up-test', version: '1.0.0' })
  await client.connect(new StreamableHTTPClientTransport(new URL(url), { requestInit: { headers: { authorization: `Bearer ${token}` } } }))
  t.teardown(() => client.close())
  return client
}

/** A JSON-RPC tools/call straight through the proxy, so the test sees the HTTP answer itself. */
async function rawToolCall(url: string, token: string, name: string): Promise<Response> {
  return fetch(url, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', accept: 'application/json, text/event-stream', 'mcp-protocol-version': '2025-06-18' },
    body: JSON.stringify({ jsonrpc: '2.0', id: 7, method: 'tools/call', params: { name, arguments: {} } }),
  })
}

/** Approves a chat link in chromium (the cookie browser when chromium is not installed). */
async function approve(t: Teardown, link: string): Promise<void> {
  if (!chromiumAvailable()) {
    await new CookieBrowser().get(link)
    return
  }
  const browser = await launchChromium()
  t.teardown(() => browser.close())
  const page = await (await browser.newContext()).newPage()
  await page.goto(link)
  await page.waitForURL(/\/oauth\/callback\?/)
}

async function connectByChat(t: Teardown, w: BotWorld, url: string): Promise<void> {
  const link = await say(w, `connect ${url}`, /waiting for you to approve/)
  const messageId = await until(() => {
    try {
      return linkMessageIdOf(w, link)
    } catch {
      return 0
    }
  })
  await new CookieBrowser().get(String(buttons(link.payload)[0]?.url))
  await editOf(w, messageId, /^✅/, 60_000)
}

t.test('insufficientScope reads the Bearer challenge (RFC 6750 §3)', async (t) => {
  const cases: [string | string[] | undefined, string[] | undefined][] = [
    ['Bearer error="insufficient_scope", scope="a b"', ['a', 'b']],
    ['Bearer realm="x", error="insufficient_scope",scope="files:read  files:write"', ['files:read', 'files:write']],
    ['DPoP algs="ES256", Bearer error="insufficient_scope", scope="a"', ['a']],
    [['Basic realm="x"', 'Bearer error=insufficient_scope, scope=a'], ['a']],
    ['Bearer error="insufficient_scope"', []],
    ['Bearer error="insufficient_scope", scope="ok bad\\"quote"', ['ok']],
    ['Bearer error="invalid_token", scope="a"', undefined],
    ['Basic error="insufficient_scope", scope="a"', undefined],
    [undefined, undefined],
  ]
  for (const [header, want] of cases) t.same(insufficientScope(header), want, JSON.stringify(header))
})

t.test('offerStepUp: once per consent and scope set, a new consent may be offered again, nothing without a bot', async (t) => {
  const withBot = testDeps(t, { config: testConfig(t, { telegram: { token: TEST_BOT_TOKEN, allowedUserIds: [1] } }) })
  const offer = (deps: typeof withBot, required: string[]) => offerStepUp(deps, { provider: 'github', required, agent: 'ci' })
  t.same(offer(withBot, ['repo']), { status: 'not_connected' })
  upsertConsent(withBot.db, { provider: 'github', now: withBot.clock.now(), requestedScopes: ['read:user'], grantedScopes: ['read:user'] })
  t.same(offer(withBot, []), { status: 'no_scope' })
  t.same(offer(withBot, ['read:user']), { status: 'already_granted' })
  t.same(offer(withBot, ['repo', 'read:user']), { status: 'offered', scopes: ['read:user', 'repo'], missing: ['repo'] })
  t.same(offer(withBot, ['read:user', 'repo']), { status: 'already_offered', scopes: ['read:user', 'repo'], missing: ['repo'] }, 'the same set in another order')
  t.same(offer(withBot, ['gist']).status, 'offered', 'another set is offered')
  t.same(stepUpScopes(withBot.db, 'github'), ['read:user', 'repo', 'gist'], 'the button asks for everything offered since the consent')
  withBot.clock.advance(1000)
  upsertConsent(withBot.db, { provider: 'github', now: withBot.clock.now(), requestedScopes: ['read:user'], grantedScopes: ['read:user'] })
  t.same(offer(withBot, ['repo']).status, 'offered', 'a new consent without the scope: offered again, once')
  t.equal(withBot.db.prepare("SELECT COUNT(*) FROM outbox WHERE kind = 'scope_step_up'").pluck().get(), 3)

  const noBot = testDeps(t)
  upsertConsent(noBot.db, { provider: 'github', now: noBot.clock.now(), requestedScopes: ['read:user'], grantedScopes: ['read:user'] })
  t.same(offer(noBot, ['repo']), { status: 'no_chat', scopes: ['read:user', 'repo'], missing: ['repo'] })
  t.equal(noBot.db.prepare('SELECT COUNT(*) FROM outbox').pluck().get(), 0, 'nothing queued that no bot would deliver')
})

t.test('a plain reconnect keeps the scopes an approved step-up added, and drops the ones the config no longer lists', async (t) => {
  const acme = { displayName: 'Acme', authorizationUrl: 'https://as.example/authorize', tokenUrl: 'https://as.example/token', clientId: 'cid', clientSecret: 'csecret', scopes: ['read:user', 'email'] }
  const deps = testDeps(t, { config: testConfig(t, { telegram: { token: TEST_BOT_TOKEN, allowedUserIds: [1] }, providers: { github: acme } }) })
  const configured = getProvider(deps.config, 'github').scopes
  t.same(configured, ['read:user', 'email'])
  const requested = () => getFlowByState(deps.db, startFlow(deps, { provider: 'github' }).state)?.requestedScopes
  t.same(requested(), configured, 'not connected: the configured scopes')

  // An agent met insufficient_scope for "repo"; the user approved the widened set.
  upsertConsent(deps.db, { provider: 'github', now: deps.clock.now(), requestedScopes: [...configured], grantedScopes: [...configured] })
  t.equal(offerStepUp(deps, { provider: 'github', required: ['repo'], agent: 'ci' }).status, 'offered')
  const widened = stepUpScopes(deps.db, 'github') as string[]
  deps.clock.advance(1000)
  // The widened consent also holds "gist", which the config listed then and lists no more.
  upsertConsent(deps.db, { provider: 'github', now: deps.clock.now(), requestedScopes: [...widened, 'gist'], grantedScopes: [...widened, 'gist'] })
  t.same(requested(), [...configured, 'repo'], 'reconnecting asks for the configured scopes and the approved step-up one, not the dropped one')
  t.same(getFlowByState(deps.db, startFlow(deps, { provider: 'github', scopes: ['read:user'] }).state)?.requestedScopes, ['read:user'], 'a flow given its scopes asks for those alone')

  // An offer the user never approved widens nothing.
  t.equal(offerStepUp(deps, { provider: 'github', required: ['admin:org'] }).status, 'offered')
  t.notOk(requested()?.includes('admin:org'), 'an offered but unapproved scope is not asked for')

  deleteScopeOffers(deps.db, 'github')
  deps.db.prepare('DELETE FROM connections WHERE provider = ?').run('github')
  t.same(requested(), configured, 'disconnected (offers forgotten): a new connection asks for the configured scopes alone')
})

const stepUpNotices = (w: BotWorld) => w.daemon.deps.db.prepare("SELECT text FROM outbox WHERE kind = 'scope_step_up' ORDER BY id").pluck().all() as string[]

t.test('403 insufficient_scope through the proxy → one chat re-consent → approve → scopes grow → the tool works', async (t) => {
  const w = await botWorld(t)
  const { mcp, as } = await mcpWorld(t, { stepUpScope: 'mcp:admin' })
  const id = `127-0-0-1-${new URL(mcp.url).port}`
  const host = new URL(mcp.url).host
  await connectByChat(t, w, mcp.url)
  t.same(getConnection(w.daemon.deps.db, id)?.grantedScopes, ['mcp:tools'], 'first consent: the challenge scope only')

  const agentToken = addAgent(w.daemon.deps.db, 'ops-bot', [id], Date.now()).token
  const proxied = `${w.config.publicUrl}/proxy/${id}/`
  // Plain JSON-RPC POSTs, as an agent's HTTP client sends them (stateless server, JSON answers).
  const echo = await rawToolCall(proxied, agentToken, 'echo')
  t.equal(echo.status, 200, 'the MCP server answers through /proxy/<id>/ (its URL is the base)')
  t.match(await echo.json(), { result: { content: [{ text: 'echo' }] } })

  const from = w.tg.requests.length
  const refused = await rawToolCall(proxied, agentToken, 'admin')
  t.equal(refused.status, 403, 'the provider answer is passed on')
  t.match(refused.headers.get('www-authenticate'), /insufficient_scope/, 'with its challenge')
  const union = 'mcp:tools offline_access mcp:admin'
  t.equal(refused.headers.get('latchkey-reconsent'), `offered; scope="${union}"`, 'the agent is told a re-consent was offered')
  const refusedBody = await refused.text()

  const notice = await w.tg.waitFor((r) => r.method === 'sendMessage' && /^🔑/.test(String(r.payload.text)), { from, what: 'the re-consent offer' })
  t.equal(
    notice.payload.text,
    `🔑 ${host} refused a request by the agent "ops-bot": it needs the scope mcp:admin, which this connection was not granted.\n\nApprove again to allow: mcp:tools, offline_access, mcp:admin.`,
  )
  t.same(buttons(notice.payload), [{ text: 'Approve more access', callback_data: `s:${id}` }])

  // Refused again: no second offer for the same connection, consent and scope set.
  const again = await rawToolCall(proxied, agentToken, 'admin')
  t.equal(again.status, 403)
  t.equal(again.headers.get('latchkey-reconsent'), `already-offered; scope="${union}"`)
  await again.text()
  t.equal(stepUpNotices(w).length, 1, 'offered once')

  // One tap: a normal connect flow asking for the union.
  const noticeId = [...w.tg.messages.values()].find((m) => m.fromBot && m.text.startsWith('🔑'))?.messageId as number
  const tapFrom = w.tg.requests.length
  w.tg.userTaps(USER, noticeId, `s:${id}`)
  const link = await w.tg.waitFor((r) => r.method === 'sendMessage' && /waiting for you to approve/.test(String(r.payload.text)), { from: tapFrom, what: 'the re-consent link' })
  t.match(String(link.payload.text), `Asking for: mcp:tools, offline_access, mcp:admin.`)
  await w.tg.waitFor((r) => r.method === 'editMessageReplyMarkup' && Number(r.payload.message_id) === noticeId, { from: tapFrom, what: 'the offer button retired' })
  const linkId = await until(() => {
    try {
      return linkMessageIdOf(w, link)
    } catch {
      return 0
    }
  })
  const start = String(buttons(link.payload)[0]?.url)
  const flow = w.daemon.deps.db.prepare('SELECT authorization_url FROM oauth_flows WHERE id = ?').pluck().get(start.split('/').at(-1)) as string
  t.equal(new URL(flow).searchParams.get('scope'), union, 'the authorization request asks for the union')
  t.equal(new URL(flow).searchParams.get('resource'), mcp.url, 'for the same resource')
  await approve(t, start)
  const done = await editOf(w, linkId, /^✅/, 60_000)
  t.equal(done.payload.text, `✅ ${host} connected (scopes: mcp:tools, mcp:admin)\n⚠️ not granted: offline_access`)
  t.same(getConnection(w.daemon.deps.db, id)?.grantedScopes, ['mcp:tools', 'mcp:admin'], 'the granted scopes grew')

  const allowed = await rawToolCall(proxied, agentToken, 'admin')
  t.equal(allowed.status, 200)
  t.equal(allowed.headers.get('latchkey-reconsent'), null)
  t.match(await allowed.json(), { result: { content: [{ text: 'admin for user-1' }] } }, 'the tool works through the proxy now')
  t.equal(stepUpNotices(w).length, 1)

  // Canary: no token the authorization server issued reaches the chat or the proxy's answers.
  const issued = as.tokenRequests.flatMap((r) => r.issued)
  t.ok(issued.length >= 2)
  const seen = [...w.tg.requests.map((r) => r.raw), JSON.stringify([...refused.headers]), refusedBody, JSON.stringify([...again.headers])].join('\n')
  t.notOk(issued.some((token) => seen.includes(token)), 'no provider token in the chat or the proxy answer')
  t.notOk(seen.includes(agentToken), 'nor the agent token')
})

t.test('report_insufficient_scope (MCP tool): an agent reports a 403 it got with a raw token', async (t) => {
  const w = await botWorld(t)
  const { mcp } = await mcpWorld(t, { stepUpScope: 'mcp:admin' })
  const id = `127-0-0-1-${new URL(mcp.url).port}`
  await connectByChat(t, w, mcp.url)
  const token = addAgent(w.daemon.deps.db, 'scripter', [id], Date.now()).token
  const other = addAgent(w.daemon.deps.db, 'stranger', ['acme'], Date.now()).token
  const client = await mcpClient(t, `${w.config.publicUrl}/mcp`, token)
  const report = async (c: Client, args: Record<string, unknown>) => {
    const r = (await c.callTool({ name: 'report_insufficient_scope', arguments: args })) as ToolText
    return { isError: r.isError === true, body: r.content[0]?.text ?? '' }
  }
  const from = w.tg.requests.length
  const header = 'Bearer error="insufficient_scope", scope="mcp:tools mcp:admin"'
  const first = await report(client, { connection: id, wwwAuthenticate: header })
  t.notOk(first.isError)
  t.match(JSON.parse(first.body), { status: 'offered', scopes: ['mcp:tools', 'offline_access', 'mcp:admin'], missing: ['mcp:admin'], message: /offered a re-consent/ })
  const notice = await w.tg.waitFor((r) => r.method === 'sendMessage' && /^🔑/.test(String(r.payload.text)), { from, what: 'the offer' })
  t.match(String(notice.payload.text), /refused a request by the agent "scripter": it needs the scope mcp:admin/)
  t.match(JSON.parse((await report(client, { connection: id, scope: 'mcp:admin' })).body), { status: 'already_offered' })
  t.match(JSON.parse((await report(client, { connection: id, scope: 'mcp:tools' })).body), { status: 'already_granted' })
  const none = await report(client, { connection: id, wwwAuthenticate: 'Bearer error="invalid_token"' })
  t.ok(none.isError)
  t.match(JSON.parse(none.body), { status: 'no_scope' })
  const outsider = await report(await mcpClient(t, `${w.config.publicUrl}/mcp`, other), { connection: id, scope: 'mcp:admin' })
  t.ok(outsider.isError, 'a connection outside the agent scopes')
  t.match(outsider.body, /stranger may not use/)
  t.equal(stepUpNotices(w).length, 1)
})
