// /glucose through the loopback Bot API server in each state: not connected (a Connect button),
// first sync running (the daemon's own first sync, started on connect, held at the simulator),
// connected without readings yet (the sync found none: an empty dataRange), and readings (the
// summary and the chart), after a real OAuth round on the Dexcom simulator's sandbox login.
import t from 'tap'
import { startDexcomSimulator } from '../../src/integrations/dexcom/simulator/index.js'
import { pullGlucose } from '../../src/integrations/dexcom/sync.js'
import { firstSyncDone } from '../../src/integrations/phase.js'
import { TEST_BOT_TOKEN, buttons, startBotApiServer } from '../support/bot-api-server.js'
import { CookieBrowser } from '../support/cookie-browser.js'
import { postFlow, startTestDaemon } from '../support/daemon.js'
import { freePort } from '../support/deps.js'
import { formSubmitUrl } from '../support/dexcom-simulator.js'
import { USER, until } from './harness.js'

t.test('/glucose: not connected, first sync running, connected without readings, readings', async (t) => {
  const tg = await startBotApiServer(t)
  const port = await freePort()
  const publicUrl = `http://127.0.0.1:${port}`
  const sim = await startDexcomSimulator({ clients: [{ clientId: 'g', clientSecret: 'g-secret-canary-5521', redirectUris: [`${publicUrl}/oauth/callback`] }] })
  t.teardown(() => sim.close())
  const d = await startTestDaemon(t, {
    listen: { host: '127.0.0.1', port },
    publicUrl,
    telegram: { token: TEST_BOT_TOKEN, allowedUserIds: [USER.id], apiRoot: tg.apiRoot },
    providers: { 'dexcom-sandbox': { authorizationUrl: sim.authorizationUrl, tokenUrl: sim.tokenUrl, apiBaseUrl: sim.url, clientId: 'g', clientSecret: 'g-secret-canary-5521' } },
    // An hour between runs: any run during the test came from the connect event.
    dexcom: { provider: 'dexcom-sandbox', backfillDays: 2, syncIntervalMs: 3_600_000 },
  })
  await d.daemon.bot?.ready
  const ask = async (method = 'sendMessage') => {
    const from = tg.requests.length
    tg.userSays(USER, '/glucose')
    return tg.waitFor((r) => r.method === method, { from, what: `the answer to /glucose (${method})` })
  }

  const notConnected = await ask()
  t.equal(notConnected.payload.text, 'Dexcom is not connected. Connect it to see your glucose here.', 'not connected')
  t.same(buttons(notConnected.payload).map((b) => [b.text, b.callback_data]), [['Connect Dexcom', 'c:dexcom-sandbox']], 'with a Connect button')

  // The first sync's dataRange request waits at the simulator until released, then finds no data.
  let release = () => {}
  const hold = new Promise<void>((resolve) => (release = resolve))
  sim.injectFault({ match: 'dataRange', hold, status: 200, body: { recordType: 'dataRange', recordVersion: '3.0', userId: 'u', calibrations: null, egvs: null, events: null } })
  const flow = await postFlow(d, 'dexcom-sandbox')
  const browser = new CookieBrowser()
  const login = await browser.get(flow.startUrl)
  const consent = await browser.get(formSubmitUrl(login.body, login.url, { username: 'SandboxUser6' }))
  await browser.get(formSubmitUrl(consent.body, consent.url, { approve: 'yes' }))
  for (let i = 0; i < 20; i++) {
    const pending = (await (await d.api(`/oauth/pending/${flow.state}?wait=5`)).json()) as { status: string }
    if (pending.status === 'connected') break
  }
  const running = await ask()
  t.equal(running.payload.text, 'Dexcom is connected; the first sync is running (up to 2 days of readings). Ask again in a minute.', 'first sync running')
  t.same(buttons(running.payload), [], 'no button')

  release()
  t.ok(await until(() => firstSyncDone(d.daemon.deps.db, 'dexcom', 'dexcom-sandbox'), 60_000), 'the first sync (started at once on connect) ended')
  const empty = await ask()
  t.equal(empty.payload.text, 'Dexcom is connected; no readings yet. Dexcom sends readings up to 3 h late, and latchkey picks them up within 60 min.', 'connected, no readings, with the delay')
  t.same(buttons(empty.payload), [], 'no button')

  sim.clearFaults()
  t.equal((await pullGlucose(d.daemon.deps)).status, 'synced')
  const photo = await ask('sendPhoto')
  t.match(String(photo.payload.caption), /^[<>]?\d+ mg\/dL .*· (just now|\d+ (h \d+ )?min ago); Dexcom data arrives delayed\nTime in range \(70–180 mg\/dL\), last 24 h: \d+ %/, 'readings: value, trend, age and time in range')
  t.match(photo.payload.photo, { file: 'glucose-24h.png' })
  t.notMatch(JSON.stringify(tg.requests.map((r) => r.payload)), 'g-secret-canary-5521', 'the client secret never reaches the chat')
})
