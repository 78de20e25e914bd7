// The whole chat against real peers: the user talks to the bot through a Bot API server on
// loopback, the daemon (in process) runs the bot, chromium opens the button's URL and approves
// at oidc-provider, and the waiting message is edited to ✅.
import t from 'tap'
import { getCredentials } from '../../src/db/provider-credentials.js'
import { TEST_BOT_TOKEN, buttons } from '../support/bot-api-server.js'
import { chromiumAvailable, launchChromium } from '../support/chromium.js'
import { CookieBrowser } from '../support/cookie-browser.js'
import { codeExchanges } from '../support/oidc-server.js'
import { CANARY_SECRET, CLIENT_ID, USER, authJson, botWorld, connectWithCredentials, editOf } from './harness.js'

t.test('connect from the chat: credentials asked, secret deleted, link, approval, ✅', async (t) => {
  const w = await botWorld(t)
  t.ok(w.tg.requests.some((r) => r.method === 'getMe'), 'getMe at start')
  t.ok(w.tg.requests.some((r) => r.method === 'deleteWebhook'), 'deleteWebhook at start')
  const commands = w.tg.requests.find((r) => r.method === 'setMyCommands')
  t.same(
    (commands?.payload.commands as { command: string }[]).map((c) => c.command),
    ['connect', 'connections', 'disconnect', 'providers', 'agents', 'glucose', 'sleep', 'readiness', 'cancel', 'help'],
    'the command menu is installed',
  )

  const { link, linkMessageId, secretMessageId } = await connectWithCredentials(w)
  const deletion = w.tg.requests.find((r) => r.method === 'deleteMessage')
  t.same(deletion?.payload, { chat_id: USER.id, message_id: secretMessageId }, 'the message holding the secret was deleted')
  t.equal(w.tg.messages.get(`${USER.id}:${secretMessageId}`)?.deleted, true)
  const confirm = w.tg.requests.find((r) => r.method === 'sendMessage' && /Secret received/.test(String(r.payload.text)))
  t.equal(confirm?.payload.text, '🔒 Secret received, 40 characters, ends …XY12. I deleted your message.', 'fingerprint only')
  const stored = getCredentials(w.daemon.deps.db, 'acme')
  t.same({ id: stored?.clientId, secret: stored?.clientSecret }, { id: CLIENT_ID, secret: CANARY_SECRET }, 'credentials stored in SQLite')

  t.equal(link.payload.text, 'Acme: waiting for you to approve… (expires in 10 min)')
  t.equal(link.payload.protect_content, true, 'protect_content')
  t.same(link.payload.link_preview_options, { is_disabled: true }, 'no link preview')
  t.equal(link.payload.parse_mode, undefined, 'no parse mode')
  const [open, cantOpen] = buttons(link.payload)
  t.match(open?.url, new RegExp(`^${w.config.publicUrl}/oauth/start/[A-Za-z0-9_-]{43}$`), 'URL button to /oauth/start/<flow>')
  t.match(cantOpen?.callback_data, /^p:[A-Za-z0-9_-]{43}$/, 'a "can\'t open the link?" button')

  if (chromiumAvailable()) {
    const browser = await launchChromium()
    t.teardown(() => browser.close())
    const page = await (await browser.newContext()).newPage()
    await page.goto(String(open?.url))
    await page.waitForURL(/\/oauth\/callback\?/)
    t.match(await page.locator('body').innerText(), /Acme (connected|approved)/, 'chromium lands on the callback page')
  } else {
    t.comment('chromium not installed: following the link with the cookie browser')
    await new CookieBrowser().get(String(open?.url))
  }

  const edit = await editOf(w, linkMessageId, /^✅/)
  t.equal(edit.payload.text, '✅ Acme connected (scopes: openid, offline_access)', 'the waiting message is edited to ✅')
  t.equal(edit.payload.chat_id, USER.id)
  t.same(buttons(edit.payload), [], 'the buttons are gone')
  const auth = await authJson(w.config)
  t.type(auth.acme?.access, 'string', 'auth.json holds the access token')
  t.type(auth.acme?.refresh, 'string', 'and the refresh token')
  t.equal(codeExchanges(w.as).length, 1, 'one code exchange, with the chat-supplied credentials')
  t.equal(codeExchanges(w.as)[0]?.params.client_secret, CANARY_SECRET)

  // Canaries: nothing the bot sent carries the secret, the bot token, a token or the code.
  const code = codeExchanges(w.as)[0]?.params.code ?? 'no-code'
  const verifier = codeExchanges(w.as)[0]?.params.code_verifier ?? 'no-verifier'
  t.match(verifier, /^[A-Za-z0-9_-]{43,128}$/, 'a PKCE verifier was sent')
  const canaries = { secret: CANARY_SECRET, botToken: TEST_BOT_TOKEN, access: String(auth.acme?.access), refresh: String(auth.acme?.refresh), code, verifier }
  for (const [what, value] of Object.entries(canaries)) {
    const leaks = w.tg.requests.filter((r) => r.raw.includes(value) || JSON.stringify(r.payload).includes(value))
    t.same(leaks.map((r) => r.method), [], `no request to the Bot API carries the ${what}`)
    t.notOk(w.logs.text().includes(value), `the log does not carry the ${what}`)
  }
  t.notOk(w.logs.text().includes(TEST_BOT_TOKEN), 'the bot token is never logged')
  t.notOk(w.logs.text().includes(code), 'the code is never logged')
})

t.test('connect alone offers buttons; an unknown provider lists the known ones; /cancel leaves a step', async (t) => {
  const w = await botWorld(t)
  const { say } = await import('./harness.js')
  const menu = await say(w, 'connect', /Which provider\?/)
  const data = buttons(menu.payload).map((b) => b.callback_data)
  t.ok(data.includes('m:acme') && data.includes('m:dexcom') && data.includes('m:pasty'), 'one button per provider (sandboxes aside)')
  const unknown = await say(w, '/connect nosuch', /I don't know the provider "nosuch"/)
  t.match(unknown.payload.text, /Known providers: .*acme.*dexcom/)

  // A tap on a provider button starts the dialog.
  const from = w.tg.requests.length
  w.tg.userTaps(USER, Number(menu.payload.message_id ?? 0) || 1, 'c:acme')
  await w.tg.waitFor((r) => r.method === 'sendMessage' && /client id/.test(String(r.payload.text)), { from })
  t.ok(w.tg.requests.slice(from).some((r) => r.method === 'answerCallbackQuery'), 'the tap is answered')
  await say(w, '/cancel', /^Cancelled\.$/)
  await say(w, 'some-client', /Send \/help/) // no longer read as a client id
  await say(w, '/cancel', /^Nothing to cancel\.$/)
  t.equal(getCredentials(w.daemon.deps.db, 'acme'), undefined, 'nothing stored')
})

t.test('a failed deletion of the secret message asks the user to delete it', async (t) => {
  const w = await botWorld(t)
  const { say } = await import('./harness.js')
  await say(w, 'connect acme', /client id/)
  await say(w, CLIENT_ID, /client secret/)
  w.tg.failNext('deleteMessage', 400, "Bad Request: message can't be deleted")
  const warn = await say(w, CANARY_SECRET, /Secret received/)
  t.match(warn.payload.text, /40 characters, ends …XY12\. ⚠️ I could not delete your message: please delete it yourself/)
  t.notMatch(warn.payload.text, CANARY_SECRET)
})

t.test('a secret that starts with "/" or reads like a command is still taken as the secret and deleted', async (t) => {
  const w = await botWorld(t)
  const { say } = await import('./harness.js')
  const slashSecret = '/canary+secret/0123456789abcdefghijkXY12'
  await say(w, 'connect acme', /client id/)
  await say(w, CLIENT_ID, /client secret/)
  const from = w.tg.requests.length
  const messageId = w.tg.userSays(USER, slashSecret)
  const confirm = await w.tg.waitFor((r) => r.method === 'sendMessage' && /Secret received/.test(String(r.payload.text)), { from, what: 'the fingerprint' })
  t.equal(confirm.payload.text, '🔒 Secret received, 40 characters, ends …XY12. I deleted your message.')
  t.equal(w.tg.messages.get(`${USER.id}:${messageId}`)?.deleted, true, 'the message holding the secret was deleted')
  t.equal(getCredentials(w.daemon.deps.db, 'acme')?.clientSecret, slashSecret, 'stored as the secret')
  const replies = w.tg.requests.slice(from).filter((r) => r.method === 'sendMessage').map((r) => String(r.payload.text))
  t.notOk(replies.some((text) => /Send \/help/.test(text)), 'not answered as an unknown command')
  t.notOk(replies.some((text) => text.includes(slashSecret)), 'never echoed')
})

t.test('/skip is refused for a provider without PKCE: it needs its secret', async (t) => {
  const w = await botWorld(t, { acme: { usePkce: false } })
  const { say } = await import('./harness.js')
  await say(w, 'connect acme', /client id/)
  const ask = await say(w, CLIENT_ID, /client secret/)
  t.notMatch(ask.payload.text, /\/skip/, '/skip is not offered')
  await say(w, '/skip', /^Acme does not use PKCE, so it needs the client secret\. Send it, or \/cancel\.$/)
  t.equal(getCredentials(w.daemon.deps.db, 'acme'), undefined, 'nothing stored')
  await say(w, CANARY_SECRET, /Secret received/) // still waiting for the secret
  t.equal(getCredentials(w.daemon.deps.db, 'acme')?.clientSecret, CANARY_SECRET)
})

t.test('a secret dialog left for over 30 min: a command is a command; a late secret is deleted, nothing saved', async (t) => {
  const w = await botWorld(t)
  const { say } = await import('./harness.js')
  await say(w, 'connect acme', /client id/)
  await say(w, CLIENT_ID, /client secret/)
  w.daemon.deps.db.prepare('UPDATE bot_chat_state SET updated_at = ?').run(Date.now() - 31 * 60_000)
  await say(w, '/help', /^latchkey connects your agent to OAuth providers\./)
  const from = w.tg.requests.length
  const late = w.tg.userSays(USER, CANARY_SECRET)
  const reply = await w.tg.waitFor((r) => r.method === 'sendMessage' && /stopped waiting/.test(String(r.payload.text)), { from, what: 'the expiry reply' })
  t.equal(reply.payload.text, 'I stopped waiting for the client secret (more than 30 min passed), so nothing was saved. I deleted your message. Start again with "connect acme".')
  t.equal(w.tg.messages.get(`${USER.id}:${late}`)?.deleted, true, 'the late secret was deleted all the same')
  t.equal(getCredentials(w.daemon.deps.db, 'acme'), undefined, 'nothing stored')
})
