// /glucose end to end: Dexcom (the simulator) connected through the daemon by chromium on the
// sandbox login page, the sync run, then the user asks in chat and the loopback Bot API server
// receives the summary and the chart as a multipart photo.
import t from 'tap'
import { pullGlucose } from '../../src/integrations/dexcom/sync.js'
import { chromiumAvailable, launchChromium } from '../support/chromium.js'
import { postFlow, startTestDaemon } from '../support/daemon.js'
import { freePort } from '../support/deps.js'
import { startDexcomSimulator } from '../../src/integrations/dexcom/simulator/index.js'
import { TEST_BOT_TOKEN, startBotApiServer } from '../support/bot-api-server.js'
import { USER } from './harness.js'

t.test('/glucose answers with the latest reading and a 24 h chart', { skip: chromiumAvailable() ? false : 'Debian chromium is not installed (/usr/bin/chromium)' }, async (t) => {
  const tg = await startBotApiServer(t)
  const port = await freePort()
  const publicUrl = `http://127.0.0.1:${port}`
  const sim = await startDexcomSimulator({ clients: [{ clientId: 'g', clientSecret: 'g-secret', redirectUris: [`${publicUrl}/oauth/callback`] }] })
  t.teardown(() => sim.close())
  const d = await startTestDaemon(t, {
    listen: { host: '127.0.0.1', port },
    publicUrl,
    telegram: { token: TEST_BOT_TOKEN, allowedUserIds: [USER.id], apiRoot: tg.apiRoot },
    providers: { 'dexcom-sandbox': { authorizationUrl: sim.authorizationUrl, tokenUrl: sim.tokenUrl, apiBaseUrl: sim.url, clientId: 'g', clientSecret: 'g-secret' } },
    dexcom: { provider: 'dexcom-sandbox', backfillDays: 2 },
  })
  await d.daemon.bot?.ready

  const empty = tg.requests.length
  tg.userSays(USER, '/glucose')
  const before = await tg.waitFor((r) => r.method === 'sendMessage', { from: empty, what: 'the no-data answer' })
  t.notOk(String(before.payload.text).includes('mg/dL ·'), 'no reading yet, and no photo')

  const flow = await postFlow(d, 'dexcom-sandbox')
  const browser = await launchChromium()
  t.teardown(() => browser.close())
  const page = await (await browser.newContext()).newPage()
  await page.goto(flow.startUrl)
  await page.selectOption('#username', 'SandboxUser6')
  await page.click('#login')
  await page.click('#approve')
  await page.waitForURL(/\/oauth\/callback\?/)
  for (let i = 0; i < 200; i++) {
    const pending = (await (await d.api(`/oauth/pending/${flow.state}?wait=5`)).json()) as { status: string }
    if (pending.status === 'connected') break
  }
  const summary = await pullGlucose(d.daemon.deps)
  t.equal(summary.status, 'synced')
  t.ok(summary.egvs.added > 100, 'two days of readings stored')

  const asked = tg.requests.length
  tg.userSays(USER, '/glucose')
  const photo = await tg.waitFor((r) => r.method === 'sendPhoto', { from: asked, what: 'the chart' })
  const action = tg.requests.slice(asked).find((r) => r.method === 'sendChatAction')
  t.equal(action?.payload.action, 'upload_photo', 'the chat shows "sending photo…" while the chart renders')
  t.ok(tg.requests.indexOf(action as never) < tg.requests.indexOf(photo), 'before the photo')
  t.match(String(photo.payload.caption), /^[<>]?\d+ mg\/dL .*· \d+ (h \d+ )?min ago; Dexcom data arrives delayed/m, 'the caption gives value, trend and age')
  t.match(String(photo.payload.caption), /in range/i, 'and time in range')
  t.match(photo.payload.photo, { file: 'glucose-24h.png' })
  t.ok((photo.payload.photo as { size: number }).size > 1000, 'a real PNG was uploaded')
  const png = (photo.payload.photo as { bytes: Buffer }).bytes
  t.same([...png.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a], 'with the PNG signature')
  t.equal(png.readUInt32BE(16), 780, 'the chart is 780 px wide: 2× a phone-width layout')
})
