// Device mode from the chat: the bot shows the verification page and the user code; the
// resolve job polls; the same message is edited to ✅.
import t from 'tap'
import { fakeServer } from '../support/deps.js'
import { botWorld, editOf, say } from './harness.js'

t.test('connect a device-mode provider: code shown, then ✅', async (t) => {
  let approved = false
  let base = ''
  const as = await fakeServer(t, (req) => {
    if (req.url === '/device') return { json: { device_code: 'bot-device-code-canary', user_code: 'KQXP-TRWM', verification_uri: `${base}/activate`, expires_in: 600, interval: 1 } }
    return approved ? { json: { access_token: 'd-at', refresh_token: 'd-rt', expires_in: 3600, token_type: 'Bearer' } } : { status: 400, json: { error: 'authorization_pending' } }
  })
  base = as.url
  const w = await botWorld(t, {
    providers: { devy: { displayName: 'Devy', authorizationUrl: `${as.url}/a`, tokenUrl: `${as.url}/token`, deviceAuthorizationUrl: `${as.url}/device`, redirectMode: 'device', clientId: 'c', clientSecret: 's', scopes: ['read'] } },
  })
  const shown = await say(w, 'connect devy', /KQXP-TRWM/)
  t.match(String(shown.payload.text), `Devy: open ${as.url}/activate and enter the code\n\nKQXP-TRWM\n\nwaiting for you to approve… (expires in 10 min)`)
  t.match(shown.payload, { protect_content: true, link_preview_options: { is_disabled: true } })
  const messageId = [...w.tg.messages.values()].find((m) => m.fromBot && m.text.includes('KQXP-TRWM'))?.messageId as number

  approved = true // the user typed the code at the provider
  const done = editOf(w, messageId, /^✅ Devy connected/)
  const tick = setInterval(() => w.daemon.scheduler.runNow('resolve-pending'), 300)
  t.teardown(() => clearInterval(tick))
  await done
  clearInterval(tick)
  t.pass('the waiting message was edited to ✅')
  t.notOk(w.tg.requests.some((r) => r.raw.includes('bot-device-code-canary')), 'the device code never reaches Telegram')
  t.notMatch(w.logs.text(), 'bot-device-code-canary', 'nor the log')
})
