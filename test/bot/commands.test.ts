// /connections, /disconnect (with revocation at the provider), /providers, and outbox rows that
// have no message to edit (needs_reauth) arriving with a Reconnect button.
import t from 'tap'
import { enqueueOutbox } from '../../src/db/outbox.js'
import { getCredentials } from '../../src/db/provider-credentials.js'
import { updateAuthFile } from '../../src/store/auth-json.js'
import { buttons } from '../support/bot-api-server.js'
import { CookieBrowser } from '../support/cookie-browser.js'
import { USER, authJson, botWorld, connectWithCredentials, editOf, say, until } from './harness.js'

t.test('connections, then disconnect with revocation and forgetting the credentials', async (t) => {
  const w = await botWorld(t)
  await say(w, '/connections', /Nothing is connected yet/)
  const { link, linkMessageId } = await connectWithCredentials(w)
  await new CookieBrowser().get(String(buttons(link.payload)[0]?.url))
  await editOf(w, linkMessageId, /^✅/)
  const refresh = String((await authJson(w.config)).acme?.refresh)

  const list = await say(w, '/connections', /Acme/)
  t.match(list.payload.text, /^✅ Acme: token expires in .*, connected .* ago, not refreshed yet|^✅ Acme: token expires in less than a minute/)
  // Another agent tool's entry in the shared auth.json is listed as theirs, not as a latchkey connection.
  await updateAuthFile(w.config.authFile, (auth) => ({ ...auth, 'github-copilot': { type: 'oauth', access: 'their-token', refresh: 'their-rt', expires: Date.now() + 3_600_000 } }))
  const withForeign = await say(w, '/connections', /github-copilot/)
  t.match(withForeign.payload.text, /^➖ github-copilot: token expires in .*, written by another tool, not refreshed by latchkey$/m)
  t.match(withForeign.payload.text, /^✅ Acme: /m)
  t.notMatch(withForeign.payload.text, /their-token|their-rt/)
  await updateAuthFile(w.config.authFile, ({ 'github-copilot': _drop, ...auth }) => auth)
  const providers = await say(w, '/providers', /acme: Acme/)
  t.match(providers.payload.text, /acme: Acme, connected/)
  t.match(providers.payload.text, /pasty: Pasty, ready to connect \(you paste the code back\)/)
  t.match(providers.payload.text, /dexcom: Dexcom, needs a client id/)

  const confirm = await say(w, '/disconnect ACME', /Disconnect Acme\?/)
  t.match(confirm.payload.text, /removed from auth\.json and revoked at Acme/)
  t.same(buttons(confirm.payload).map((b) => b.callback_data), ['d:y:acme', 'd:f:acme', 'd:n:acme'])
  const confirmId = [...w.tg.messages.values()].filter((m) => m.fromBot && /Disconnect Acme\?/.test(m.text)).at(-1)?.messageId as number
  const from = w.tg.requests.length
  w.tg.userTaps(USER, confirmId, 'd:f:acme')
  const done = await w.tg.waitFor((r) => r.method === 'editMessageText' && Number(r.payload.message_id) === confirmId, { from })
  t.equal(done.payload.text, 'Acme disconnected: tokens removed from auth.json; revoked at Acme; client id and secret forgotten.')
  t.equal((await authJson(w.config)).acme, undefined, 'the auth.json entry is gone')
  t.equal(getCredentials(w.daemon.deps.db, 'acme'), undefined, 'the stored credentials are gone')
  // The refresh token no longer works at the provider.
  const res = await fetch(w.as.tokenUrl, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: refresh, client_id: 'chat-client', client_secret: 'canary-client-secret-0123456789abcdeXY12' }),
  })
  t.equal(res.status, 400, 'the provider refuses the revoked refresh token')
  await say(w, '/disconnect acme', /Acme is not connected/)
})

t.test('needs_reauth from the token store arrives with a one-tap Reconnect button', async (t) => {
  const w = await botWorld(t)
  const from = w.tg.requests.length
  enqueueOutbox(w.daemon.deps.db, { kind: 'needs_reauth', provider: 'acme', flowId: null, chatId: null, messageId: null, text: '⚠️ Acme needs reconnecting', createdAt: Date.now() })
  const sent = await w.tg.waitFor((r) => r.method === 'sendMessage' && /needs reconnecting/.test(String(r.payload.text)), { from })
  t.equal(sent.payload.chat_id, USER.id, 'sent to the allowed user')
  t.same(buttons(sent.payload), [{ text: 'Reconnect', callback_data: 'c:acme' }])
  t.ok(await until(() => deliveredAt(w, 'needs_reauth')), 'marked delivered after the Bot API accepted it')
})

t.test('an outbox row is not marked delivered while Telegram fails', async (t) => {
  const w = await botWorld(t)
  w.tg.failNext('sendMessage', 502, 'Bad Gateway', 1)
  const from = w.tg.requests.length
  enqueueOutbox(w.daemon.deps.db, { kind: 'reconsent_due', provider: 'acme', flowId: null, chatId: null, messageId: null, text: '⏰ Acme access ends soon', createdAt: Date.now() })
  const isReminder = (r: { method: string; payload: Record<string, unknown> }) => r.method === 'sendMessage' && /access ends soon/.test(String(r.payload.text))
  await w.tg.waitFor(isReminder, { from, what: 'the first attempt' })
  t.notOk(deliveredAt(w, 'reconsent_due'), 'not delivered after a 502')
  await w.tg.waitFor(() => w.tg.requests.slice(from).filter(isReminder).length >= 2, { from, what: 'a second attempt' })
  t.ok(await until(() => deliveredAt(w, 'reconsent_due')), 'delivered once the Bot API accepted it')
  t.equal(w.tg.requests.slice(from).filter(isReminder).length, 2, 'sent exactly twice')
})

function deliveredAt(w: { daemon: { deps: { db: import('../../src/db/open.js').Db } } }, kind: string): number | null {
  return (w.daemon.deps.db.prepare('SELECT delivered_at FROM outbox WHERE kind = ?').get(kind) as { delivered_at: number | null }).delivered_at
}

