// Flow outcomes reported in the chat: denied, expired, paste mode (configured, and through the
// "can't open the link?" button), and a daemon restart between the link and the callback.
import t from 'tap'
import { getFlowById } from '../../src/db/oauth-flows.js'
import { buttons } from '../support/bot-api-server.js'
import { CookieBrowser } from '../support/cookie-browser.js'
import { codeExchanges } from '../support/oidc-server.js'
import { USER, authJson, botWorld, editOf, linkMessageIdOf, say, type BotWorld } from './harness.js'

const WITH_CREDENTIALS = { acme: { clientId: 'chat-client', clientSecret: 'canary-client-secret-0123456789abcdeXY12' } }

async function link(w: BotWorld, provider: string) {
  const r = await say(w, `connect ${provider}`, /waiting for you to approve/)
  return { request: r, messageId: linkMessageIdOf(w, r), buttons: buttons(r.payload) }
}

t.test('denied at the provider: ❌ in plain words with a Try again button', async (t) => {
  const w = await botWorld(t, WITH_CREDENTIALS)
  w.as.setDecision('deny')
  const l = await link(w, 'acme')
  await new CookieBrowser().get(String(l.buttons[0]?.url))
  const edit = await editOf(w, l.messageId, /^❌/)
  t.equal(edit.payload.text, '❌ Acme: access was denied at Acme.')
  t.same(buttons(edit.payload), [{ text: 'Try again', callback_data: 'c:acme' }])
  t.equal(codeExchanges(w.as).length, 0, 'nothing exchanged')
})

t.test('expired flow: ⌛ with Try again', async (t) => {
  const w = await botWorld(t, WITH_CREDENTIALS)
  const l = await link(w, 'acme')
  const flowId = String(l.buttons[0]?.url).split('/').pop() as string
  // Ten minutes pass: the flow row's expiry moves into the past, then the resolve job runs.
  w.daemon.deps.db.prepare('UPDATE oauth_flows SET expires_at = ? WHERE id = ?').run(Date.now() - 1, flowId)
  w.daemon.scheduler.runNow('resolve-pending')
  const edit = await editOf(w, l.messageId, /^⌛/)
  t.match(edit.payload.text, /^⌛ Acme: the link expired before it was approved/)
  t.same(buttons(edit.payload), [{ text: 'Try again', callback_data: 'c:acme' }])
  t.equal(getFlowById(w.daemon.deps.db, flowId)?.status, 'expired')
})

t.test('paste mode: the user pastes the whole address, the code message is deleted, ✅', async (t) => {
  const w = await botWorld(t)
  const l = await link(w, 'pasty')
  t.match(l.request.payload.text, /paste here the code Pasty shows, or the whole address/)
  t.equal(l.request.payload.protect_content, true)
  t.equal(l.buttons.length, 1, 'one button, straight to the provider')
  t.ok(String(l.buttons[0]?.url).startsWith(w.as.authorizationUrl), 'the button opens the provider, not /oauth/start')
  // The phone cannot reach latchkey: stop at the redirect and copy the address.
  const back = await new CookieBrowser().get(String(l.buttons[0]?.url), { stopAt: (u) => u.startsWith(w.config.redirectUri) })
  const landed = String(back.headers.location)

  const wrong = landed.replace(/state=[^&]+/, `state=${'x'.repeat(43)}`)
  await say(w, wrong, /different connection attempt/)
  const from = w.tg.requests.length
  const pastedId = w.tg.userSays(USER, landed)
  await w.tg.waitFor((r) => r.method === 'deleteMessage' && r.payload.message_id === pastedId, { from, what: 'deletion of the pasted code' })
  const edit = await editOf(w, l.messageId, /^✅/)
  t.equal(edit.payload.text, '✅ Pasty connected (scopes: openid, offline_access)')
  t.type((await authJson(w.config)).pasty?.access, 'string')
  t.equal(codeExchanges(w.as).length, 1)
  const code = new URL(landed).searchParams.get('code') as string
  t.same(w.tg.requests.filter((r) => r.raw.includes(code)).map((r) => r.method), [], 'the code is in no request to the Bot API')
})

t.test("can't open the link: a direct link, then a bare code pasted", async (t) => {
  const w = await botWorld(t, WITH_CREDENTIALS)
  const l = await link(w, 'acme')
  const from = w.tg.requests.length
  w.tg.userTaps(USER, l.messageId, String(l.buttons[1]?.callback_data))
  const direct = await w.tg.waitFor((r) => r.method === 'sendMessage' && /paste here the whole address/.test(String(r.payload.text)), { from })
  t.equal(direct.payload.protect_content, true)
  t.same(direct.payload.link_preview_options, { is_disabled: true })
  const back = await new CookieBrowser().get(String(buttons(direct.payload)[0]?.url), { stopAt: (u) => u.startsWith(w.config.redirectUri) })
  const code = new URL(String(back.headers.location)).searchParams.get('code') as string
  await say(w, 'not a code at all', /does not look like a code/)
  w.tg.userSays(USER, code)
  await editOf(w, l.messageId, /^✅ Acme connected/)
  t.equal(codeExchanges(w.as).length, 1)
})

t.test('the daemon restarts between the link and the callback: ✅ still reaches the same message', async (t) => {
  const w = await botWorld(t, WITH_CREDENTIALS)
  const l = await link(w, 'acme')
  const browser = new CookieBrowser()
  const redirect = await browser.get(String(l.buttons[0]?.url), { stopAt: (u) => u.startsWith(w.config.redirectUri) })
  await w.restart()
  await browser.get(String(redirect.headers.location))
  const edit = await editOf(w, l.messageId, /^✅/)
  t.equal(edit.payload.chat_id, USER.id, 'same chat')
  t.equal(edit.payload.text, '✅ Acme connected (scopes: openid, offline_access)')
})

t.test('a credentials dialog survives a restart', async (t) => {
  const w = await botWorld(t)
  await say(w, 'connect acme', /client id/)
  await w.restart()
  const asked = await say(w, 'chat-client', /Now send the client secret for Acme/)
  t.equal(asked.payload.chat_id, USER.id, 'the new daemon continues the dialog where it stopped')
})
