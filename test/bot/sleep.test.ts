// /sleep and /readiness through the loopback Bot API server, in each state: not connected (a
// Connect button), first sync running (the daemon's own first sync held at the simulator),
// connected with no data yet (that sync ended without data: a 503), and data, after a real OAuth
// round and a real sync from the Oura simulator. Values are checked against the
// simulator's own documents; the 7-night chart is a real PNG.
import { writeFileSync } from 'node:fs'
import t from 'tap'
import { documentsFor, startOuraSimulator } from '../../src/integrations/oura/simulator.js'
import { pullOura } from '../../src/integrations/oura/sync.js'
import { firstSyncDone } from '../../src/integrations/phase.js'
import { TEST_BOT_TOKEN, buttons, startBotApiServer } from '../support/bot-api-server.js'
import { postFlow, startTestDaemon } from '../support/daemon.js'
import { CookieBrowser } from '../support/cookie-browser.js'
import { freePort } from '../support/deps.js'
import { USER, until } from './harness.js'

const hm = (s: unknown) => `${Math.floor(Number(s) / 3600)} h ${String(Math.round((Number(s) % 3600) / 60)).padStart(2, '0')} min`

t.test('/sleep and /readiness: not connected, first sync running, connected without data, data', async (t) => {
  const tg = await startBotApiServer(t)
  const port = await freePort()
  const publicUrl = `http://127.0.0.1:${port}`
  const sim = await startOuraSimulator({ clientId: 'o', clientSecret: 'o-secret-canary-7731', redirectUris: [`${publicUrl}/oauth/callback`] })
  t.teardown(() => sim.close())
  const d = await startTestDaemon(t, {
    listen: { host: '127.0.0.1', port },
    publicUrl,
    telegram: { token: TEST_BOT_TOKEN, allowedUserIds: [USER.id], apiRoot: tg.apiRoot },
    providers: { 'oura-sandbox': { displayName: 'Oura Sandbox', authorizationUrl: sim.authorizationUrl, tokenUrl: sim.tokenUrl, apiBaseUrl: sim.url, clientId: 'o', clientSecret: 'o-secret-canary-7731', rotation: 'single-use', usePkce: false, scopes: ['personal', 'daily', 'heartrate'] } },
  })
  await d.daemon.bot?.ready
  const ask = async (text: string, method = 'sendMessage') => {
    const from = tg.requests.length
    tg.userSays(USER, text)
    return tg.waitFor((r) => r.method === method, { from, what: `the answer to ${text}` })
  }

  for (const command of ['/sleep', '/readiness']) {
    const answer = await ask(command)
    t.match(String(answer.payload.text), /^Oura is not connected/, `${command}: not connected`)
    t.same(buttons(answer.payload).map((b) => [b.text, b.callback_data]), [['Connect Oura', 'c:oura-sandbox']], `${command}: a Connect button`)
  }

  // Connect through the simulator's consent page; the daemon's first sync is held at the
  // simulator until released, then every data request answers 503.
  let release = () => {}
  const hold = new Promise<void>((resolve) => (release = resolve))
  sim.injectFault({ match: 'data', hold, status: 503 })
  const flow = await postFlow(d, 'oura-sandbox')
  const browser = new CookieBrowser()
  const consent = await browser.get(flow.startUrl)
  const link = /href="([^"]*user=sleeper-ada[^"]*)"/.exec(consent.body)?.[1]?.replaceAll('&amp;', '&')
  const callback = await browser.get(new URL(String(link), sim.url).href)
  t.equal(callback.status, 200, 'the callback page')
  for (let i = 0; i < 20; i++) {
    const pending = (await (await d.api(`/oauth/pending/${flow.state}?wait=5`)).json()) as { status: string }
    if (pending.status === 'connected') break
  }
  for (const command of ['/sleep', '/readiness']) {
    const answer = await ask(command)
    t.equal(answer.payload.text, 'Oura is connected; the first sync is running (90 days of sleep, readiness, activity and heart rate). Ask again in a minute.', `${command}: first sync running`)
    t.same(buttons(answer.payload), [], `${command}: no button`)
  }

  release()
  t.ok(await until(() => firstSyncDone(d.daemon.deps.db, 'oura', 'oura-sandbox'), 60_000), 'the first sync (started at once on connect) ended')
  t.ok(sim.requests.some((r) => r.status === 503), 'it met the 503')
  const noSleep = await ask('/sleep')
  t.match(String(noSleep.payload.text), /^Oura is connected; no sleep data yet\. Oura sends a night's sleep once the ring has synced/, '/sleep: connected, no data, with the delay')
  t.same(buttons(noSleep.payload), [], 'no Connect button once connected')
  t.match(String((await ask('/readiness')).payload.text), /^Oura is connected; no readiness data yet/)

  sim.clearFaults()
  t.equal((await pullOura(d.daemon.deps, 'oura-sandbox')).status, 'synced')
  const now = Date.now()
  const todayMs = Math.floor(now / 86_400_000) * 86_400_000
  const day = new Date(todayMs).toISOString().slice(0, 10)
  const night = documentsFor('sleeper-ada', 'sleep', todayMs).find((p) => p.type === 'long_sleep') as Record<string, number>
  const score = documentsFor('sleeper-ada', 'daily_sleep', todayMs)[0]?.score

  const photo = await ask('/sleep', 'sendPhoto')
  const caption = String(photo.payload.caption)
  t.equal(caption.split('\n')[0], `Last night (${day}): sleep score ${score}`)
  t.equal(caption.split('\n')[1], `Total sleep ${hm(night.total_sleep_duration)} · efficiency ${night.efficiency} %`)
  t.equal(caption.split('\n')[2], `Deep ${hm(night.deep_sleep_duration)} · REM ${hm(night.rem_sleep_duration)} · light ${hm(night.light_sleep_duration)} · awake ${hm(night.awake_time)}`)
  t.equal(caption.split('\n')[3], `Lowest heart rate ${night.lowest_heart_rate} bpm`)
  t.match(photo.payload.photo, { file: 'sleep-7d.png' })
  const png = (photo.payload.photo as { bytes: Buffer }).bytes
  t.same([...png.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a], 'a PNG')
  t.equal(png.readUInt32BE(16), 780, '780 px wide: 2× a phone-width layout')
  if (process.env.LATCHKEY_SAVE_CHART) writeFileSync(process.env.LATCHKEY_SAVE_CHART, png)

  const ready = documentsFor('sleeper-ada', 'daily_readiness', todayMs)[0] as Record<string, unknown>
  const text = String((await ask('/readiness')).payload.text)
  t.match(text, new RegExp(`^Readiness \\(${day}\\): ${String(ready.score)}\\n`))
  t.match(text, `Hrv balance: ${String((ready.contributors as Record<string, number>).hrv_balance)}`)
  t.match(text, 'Resting heart rate: 85')
  t.match(text, 'Sleep regularity: 81')
  t.notMatch(JSON.stringify(tg.requests.map((r) => r.payload)), 'o-secret-canary-7731', 'the client secret never reaches the chat')
})
