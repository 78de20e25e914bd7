// /agents with its revoke buttons, and a connect asked for by an agent through MCP arriving in the
// chat with the agent named: the real daemon, its bot polling a Bot API server on loopback.
import { Client } from '@modelcontextprotocol/sdk/client/index.js'
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js'
import t from 'tap'
import { addAgent } from '../../src/broker/agents.js'
import { buttons } from '../support/bot-api-server.js'
import { CANARY_SECRET, CLIENT_ID, USER, botWorld, say } from './harness.js'

t.test('/agents lists agents and scopes; Revoke ends a token at once', async (t) => {
  const w = await botWorld(t)
  await say(w, '/agents', /No agents yet/)
  const { token } = addAgent(w.daemon.deps.db, 'claude', ['acme:GET:/v1/', 'dexcom'], Date.now())
  addAgent(w.daemon.deps.db, 'cron', ['acme'], Date.now())
  const list = await say(w, '/agents', /claude/)
  t.match(list.payload.text, /^🤖 claude: acme:GET:\/v1\/, dexcom \(never used\)$/m)
  t.match(list.payload.text, /^🤖 cron: acme \(never used\)$/m)
  t.notMatch(list.payload.text, /lka_/, 'no token in the chat')
  t.same(buttons(list.payload).map((b) => b.callback_data), ['ag:r:claude', 'ag:r:cron'])
  const listId = [...w.tg.messages.values()].filter((m) => m.fromBot && /claude/.test(m.text)).at(-1)?.messageId as number
  const from = w.tg.requests.length
  w.tg.userTaps(USER, listId, 'ag:r:claude')
  const edit = await w.tg.waitFor((r) => r.method === 'editMessageText' && Number(r.payload.message_id) === listId, { from })
  t.equal(edit.payload.text, '🚫 Agent "claude" revoked: its token no longer works.')
  const res = await fetch(`${w.config.publicUrl}/proxy/acme/v1/me`, { headers: { authorization: `Bearer ${token}` } })
  t.equal(res.status, 401, 'the revoked token is refused')
})

t.test('an agent connect through MCP: the link arrives in the chat naming the agent, and is returned', async (t) => {
  const w = await botWorld(t, { acme: { clientId: CLIENT_ID, clientSecret: CANARY_SECRET } })
  const { token } = addAgent(w.daemon.deps.db, 'claude', ['acme'], Date.now())
  const client = new Client({ name: 'test', version: '1.0.0' })
  await client.connect(new StreamableHTTPClientTransport(new URL(`${w.config.publicUrl}/mcp`), { requestInit: { headers: { authorization: `Bearer ${token}` } } }))
  t.teardown(() => client.close())
  const from = w.tg.requests.length
  const result = (await client.callTool({ name: 'connect', arguments: { provider: 'acme', waitSeconds: 1 } })) as { content: { text: string }[] }
  const answer = JSON.parse(result.content[0]?.text ?? '{}') as Record<string, unknown>
  t.match(answer, { provider: 'acme', status: 'waiting', sentToChat: true })
  const sent = await w.tg.waitFor((r) => r.method === 'sendMessage' && /asks you to connect/.test(String(r.payload.text)), { from })
  t.equal(Number(sent.payload.chat_id), USER.id)
  t.match(sent.payload.text, /^🤖 The agent "claude" asks you to connect this\.\n\nAcme: waiting for you to approve/)
  t.equal(buttons(sent.payload)[0]?.url, answer.link, 'the chat link is the one returned')
  t.notOk(JSON.stringify(w.tg.requests).includes(token), 'the agent token never reaches Telegram')
})
