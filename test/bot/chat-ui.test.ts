// What the chat looks like, against the loopback Bot API server (which refuses HTML Telegram could
// not parse): the /start welcome with its Connect button, the provider menu edited once a choice is
// made, sandboxes kept out of it, the tap-to-copy redirect URI, /disconnect's menu, /connections
// without an empty keyboard, and paste mode keeping the flow open for a reply that is no code.
import { mkdir, writeFile } from 'node:fs/promises'
import { dirname } from 'node:path'
import t from 'tap'
import { getFlowById } from '../../src/db/oauth-flows.js'
import { saveCredentials } from '../../src/db/provider-credentials.js'
import { buttons, type BotApiRequest } from '../support/bot-api-server.js'
import { USER, botWorld, say, type BotWorld } from './harness.js'

/** The user taps the button with `data` on the newest bot message that has it; waits for the next request matching `expect`. */
async function tap(w: BotWorld, data: string, expect: (r: BotApiRequest) => boolean): Promise<BotApiRequest> {
  const message = [...w.tg.messages.values()].filter((m) => m.fromBot && JSON.stringify(m.replyMarkup ?? null).includes(`"${data}"`)).at(-1)
  if (!message) throw new Error(`no message with a button ${data}`)
  const from = w.tg.requests.length
  w.tg.userTaps(USER, message.messageId, data)
  return w.tg.waitFor(expect, { from, what: `after tapping ${data}` })
}

t.test('first run: /start says what the bot does; Connect opens the menu, which is edited once chosen', async (t) => {
  const w = await botWorld(t, { providers: { weird: { displayName: 'A<b>&Co', authorizationUrl: 'https://weird.example/auth', tokenUrl: 'https://weird.example/token' } } })
  const welcome = await say(w, '/start', /connects your AI agent/)
  t.equal(welcome.payload.parse_mode, 'HTML')
  t.match(String(welcome.payload.text), /^<b>latchkey<\/b> connects your AI agent to your accounts/)
  t.same(buttons(welcome.payload).map((b) => [b.text, b.callback_data]), [['Connect a provider', 'menu']])

  const from = w.tg.requests.length
  const menu = await tap(w, 'menu', (r) => r.method === 'sendMessage' && r.payload.text === 'Which provider?')
  const retired = w.tg.requests.slice(from).find((r) => r.method === 'editMessageReplyMarkup')
  t.ok(retired, 'the welcome loses its button')
  t.equal(retired?.payload.reply_markup, undefined)
  const offered = buttons(menu.payload).map((b) => b.callback_data)
  t.ok(offered.includes('m:acme') && offered.includes('m:dexcom') && offered.includes('m:oura'), 'configured and built-in providers')
  t.notOk(offered.includes('m:dexcom-sandbox'), 'no sandbox without a client id')

  const mark = w.tg.requests.length
  const prompt = await tap(w, 'm:acme', (r) => r.method === 'sendMessage' && /Send me the app's client id/.test(String(r.payload.text)))
  const edited = w.tg.requests.slice(mark).find((r) => r.method === 'editMessageText')
  t.equal(edited?.payload.text, 'Connect: Acme', 'the menu says what was chosen')
  t.equal(edited?.payload.reply_markup, undefined, 'and keeps no live buttons')
  t.equal(prompt.payload.parse_mode, 'HTML')
  t.match(String(prompt.payload.text), `<code>${w.config.redirectUri}</code>`, 'the redirect URI is tap-to-copy code')
  await say(w, '/cancel', /Cancelled/)

  // Interpolated names are escaped (the Bot API server refuses HTML it cannot parse).
  const weird = await say(w, 'connect weird', /needs an app registered/)
  t.match(String(weird.payload.text), /^A&lt;b&gt;&amp;Co needs an app registered/)
  await say(w, '/cancel', /Cancelled/)

  saveCredentials(w.daemon.deps.db, { provider: 'dexcom-sandbox', clientId: 'sandbox-app', clientSecret: 's', updatedAt: Date.now() })
  const again = await say(w, 'connect', /Which provider\?/)
  t.ok(buttons(again.payload).some((b) => b.callback_data === 'm:dexcom-sandbox'), 'a sandbox with a client id is offered')
})

t.test('/connections never sends an empty keyboard; /disconnect offers buttons like /connect', async (t) => {
  const w = await botWorld(t)
  await mkdir(dirname(w.config.authFile), { recursive: true, mode: 0o700 })
  await writeFile(w.config.authFile, JSON.stringify({ acme: { type: 'oauth', access: 'a-token', refresh: 'r-token', expires: Date.now() + 3_600_000 } }), { mode: 0o600 })
  const list = await say(w, '/connections', /Acme: token expires in/)
  t.equal(list.payload.reply_markup, undefined, 'no reply_markup at all when there is no button')

  const menu = await say(w, '/disconnect', /Disconnect which provider\?/)
  t.same(buttons(menu.payload).map((b) => [b.text, b.callback_data]), [['Acme', 'x:acme'], ['Cancel', 'x:-']])
  const question = await tap(w, 'x:acme', (r) => r.method === 'editMessageText')
  t.match(String(question.payload.text), /^Disconnect Acme\? Its tokens are removed from auth\.json and revoked at Acme\./)
  t.same(buttons(question.payload).map((b) => b.callback_data), ['d:y:acme', 'd:n:acme'], 'the menu becomes the question')
  const kept = await tap(w, 'd:n:acme', (r) => r.method === 'editMessageText')
  t.equal(kept.payload.text, 'Kept Acme as it was.')
  t.equal(kept.payload.reply_markup, undefined, 'no buttons left')

  await writeFile(w.config.authFile, '{}', { mode: 0o600 })
  await say(w, '/disconnect', /Nothing is connected, so there is nothing to disconnect\./)
})

t.test('paste mode: a reply that is plainly no code leaves the flow open, and says why', async (t) => {
  const w = await botWorld(t)
  const link = await say(w, 'connect pasty', /waiting for you to approve/)
  t.ok(buttons(link.payload)[0]?.url, 'the link to the provider')
  const flowId = (w.daemon.deps.db.prepare('SELECT id FROM oauth_flows ORDER BY created_at DESC LIMIT 1').get() as { id: string }).id
  for (const reply of ['done', 'thanks!', 'ok', 'https://example.com/']) {
    const answer = await say(w, reply, /does not look like a code/)
    t.match(String(answer.payload.text), /so the link is still open/, `${reply}: the flow stays open`)
    t.equal(getFlowById(w.daemon.deps.db, flowId)?.status, 'waiting', `${reply}: still waiting`)
  }
  const answer = await say(w, 'done', /does not look like a code/)
  t.match(String(answer.payload.text), /looks like a reply/, 'says why')
})
