// Device mode from the chat: the bot shows the verification page and the user code; the
// resolve job polls; the same message is edited to ✅.
import t from 'tap'
import { getFlowById } from '../../src/db/oauth-flows.js'
import { buttons } from '../support/bot-api-server.js'
import { fakeServer } from '../support/deps.js'
import { USER, botWorld, editOf, linkMessageIdOf, say } from './harness.js'

t.test('connect a device-mode provider: code shown; pending, slow_down, then tokens; ✅', async (t) => {
  // The provider says authorization_pending, then slow_down, then hands out tokens (RFC 8628 §3.5).
  const answers = [{ status: 400, json: { error: 'authorization_pending' } }, { status: 400, json: { error: 'slow_down' } }]
  const polls: number[] = []
  let base = ''
  const as = await fakeServer(t, (req) => {
    if (req.url === '/device') return { json: { device_code: 'bot-device-code-canary', user_code: 'KQXP-TRWM', verification_uri: `${base}/activate`, expires_in: 600, interval: 1 } }
    polls.push(Date.now())
    return answers.shift() ?? { json: { access_token: 'd-at', refresh_token: 'd-rt', expires_in: 3600, token_type: 'Bearer' } }
  })
  base = as.url
  // The daemon's own watch runs the resolve job while the flow is active: no ticks from the test.
  const w = await botWorld(t, {
    resolveIntervalMs: 500,
    providers: { devy: { displayName: 'Devy', authorizationUrl: `${as.url}/a`, tokenUrl: `${as.url}/token`, deviceAuthorizationUrl: `${as.url}/device`, redirectMode: 'device', clientId: 'c', clientSecret: 's', scopes: ['read'] } },
  })
  const shown = await say(w, 'connect devy', /KQXP-TRWM/)
  t.match(String(shown.payload.text), `Devy: open ${as.url}/activate and enter the code\n\nKQXP-TRWM\n\nwaiting for you to approve… (expires in 10 min)`)
  t.match(shown.payload, { protect_content: true, link_preview_options: { is_disabled: true } })
  const messageId = [...w.tg.messages.values()].find((m) => m.fromBot && m.text.includes('KQXP-TRWM'))?.messageId as number

  const done = await editOf(w, messageId, /^✅ Devy connected/, 40_000)
  t.equal(done.payload.text, '✅ Devy connected (scopes: read)', 'the waiting message was edited to ✅')
  const tokenPolls = as.requests.filter((r) => r.url === '/token')
  t.equal(tokenPolls.length, 3, 'pending, slow_down, tokens: three polls and no more')
  t.same(tokenPolls.map((r) => r.form.grant_type), Array(3).fill('urn:ietf:params:oauth:grant-type:device_code'))
  // Lower bounds from the protocol, not timings of ours: 1 s interval, then 1 + 5 s after slow_down.
  t.ok((polls[1] ?? 0) - (polls[0] ?? 0) >= 1_000, 'the interval is honoured')
  t.ok((polls[2] ?? 0) - (polls[1] ?? 0) >= 6_000, 'slow_down adds 5 s to the interval')
  t.notOk(w.tg.requests.some((r) => r.raw.includes('bot-device-code-canary')), 'the device code never reaches Telegram')
  t.notMatch(w.logs.text(), 'bot-device-code-canary', 'nor the log')
  t.notOk(w.tg.requests.some((r) => r.raw.includes('d-at') || r.raw.includes('d-rt')), 'nor the tokens')
})

t.test('a callback-mode provider with a device endpoint offers "Use a code instead"', async (t) => {
  let approved = false
  let base = ''
  const as = await fakeServer(t, (req) => {
    if (req.url === '/device') return { json: { device_code: 'switch-device-code-canary', user_code: 'MNOP-QRST', verification_uri: `${base}/activate`, expires_in: 600, interval: 1 } }
    return approved ? { json: { access_token: 's-at', expires_in: 3600, token_type: 'Bearer' } } : { status: 400, json: { error: 'authorization_pending' } }
  })
  base = as.url
  const w = await botWorld(t, {
    providers: { hub: { displayName: 'Hub', authorizationUrl: `${as.url}/a`, tokenUrl: `${as.url}/token`, deviceAuthorizationUrl: `${as.url}/device`, clientId: 'c', clientSecret: 's', scopes: ['read'] } },
  })
  const link = await say(w, 'connect hub', /^Hub: waiting for you to approve/)
  const linkMessageId = linkMessageIdOf(w, link)
  const useCode = buttons(link.payload).find((b) => b.text === 'Use a code instead')
  t.match(useCode?.callback_data, /^u:[A-Za-z0-9_-]{43}$/, 'the link message offers a code')
  const browserFlowId = String(useCode?.callback_data).slice(2)

  let from = w.tg.requests.length
  w.tg.userTaps(USER, linkMessageId, String(useCode?.callback_data))
  const shown = await w.tg.waitFor((r) => r.method === 'sendMessage' && /MNOP-QRST/.test(String(r.payload.text)), { from, what: 'the code' })
  t.equal(shown.payload.text, `Hub: open ${as.url}/activate and enter the code\n\nMNOP-QRST\n\nwaiting for you to approve… (expires in 10 min)`)
  t.match(shown.payload, { protect_content: true, link_preview_options: { is_disabled: true } })
  const switched = await editOf(w, linkMessageId, /using a code instead/)
  t.same(buttons(switched.payload), [], 'the old link message loses its buttons')
  t.match(getFlowById(w.daemon.deps.db, browserFlowId), { status: 'failed', error: 'superseded' }, 'the browser flow can no longer connect')

  from = w.tg.requests.length
  w.tg.userTaps(USER, linkMessageId, String(useCode?.callback_data))
  const answer = await w.tg.waitFor((r) => r.method === 'answerCallbackQuery', { from, what: 'the second tap answered' })
  t.match(answer.payload.text, /expired or was already used/, 'a second tap starts nothing')
  t.equal(as.requests.filter((r) => r.url === '/device').length, 1, 'one device authorization request')

  const codeMessageId = [...w.tg.messages.values()].find((m) => m.fromBot && m.text.includes('MNOP-QRST'))?.messageId as number
  approved = true
  const done = editOf(w, codeMessageId, /^✅ Hub connected/)
  const tick = setInterval(() => w.daemon.scheduler.runNow('resolve-pending'), 300)
  t.teardown(() => clearInterval(tick))
  await done
  clearInterval(tick)
  t.pass('the code message was edited to ✅')
  t.notOk(w.tg.requests.some((r) => r.raw.includes('switch-device-code-canary')), 'the device code never reaches Telegram')
  t.notMatch(w.logs.text(), 'switch-device-code-canary', 'nor the log')
})
