// `npm run demo` is the first thing a newcomer runs: on loopback, with no account, the link it
// prints leads through the simulator's sandbox login to synced readings.
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { demoCommand } from '../../../src/cli/demo.js'
import { main } from '../../../src/cli/main.js'
import type { Output } from '../../../src/cli/output.js'
import { CookieBrowser } from '../../support/cookie-browser.js'
import { tempDir } from '../../support/deps.js'
import { formSubmitUrl } from '../../support/dexcom-simulator.js'

t.test('demo: link → sandbox login → connected → readings printed', async (t) => {
  const dir = tempDir(t)
  const lines: string[] = []
  const out: Output = { info: (l) => lines.push(l), error: (l) => lines.push(`ERR ${l}`) }
  const stop = new AbortController()
  // The user's environment may hold their real daemon's settings: the demo must ignore them.
  const userEnv = { TELEGRAM_BOT_TOKEN: '123456:ABC-real-bot-token-0123456789', LATCHKEY_DEXCOM_SANDBOX_CLIENT_ID: 'their-real-client' }
  const running = demoCommand({ LATCHKEY_DEMO_DIR: dir, HOME: dir, TZ: 'Asia/Tokyo', ...userEnv }, out, { signal: stop.signal })
  t.teardown(() => stop.abort())
  let link: string | undefined
  for (let i = 0; !link && i < 400; i++) {
    link = /http:\/\/127\.0\.0\.1:\d+\/oauth\/start\/[A-Za-z0-9_-]{43}/.exec(lines.join('\n'))?.[0]
    if (!link) await new Promise((r) => setTimeout(r, 25))
  }
  t.ok(link, 'the demo prints the link to open')
  t.ok(existsSync(join(dir, 'config.json')), 'and writes the config it generated')
  const browser = new CookieBrowser()
  const login = await browser.get(link as string)
  t.match(login.body, /SandboxUser7/, 'the simulator’s sandbox login page')
  const consent = await browser.get(formSubmitUrl(login.body, login.url, { username: 'SandboxUser7' }))
  const done = await browser.get(formSubmitUrl(consent.body, consent.url, { approve: 'yes' }))
  // Under load the page may answer before the exchange ends (it waits at most 8 s).
  t.match(done.body, /<title>Dexcom Sandbox (connected|approved)<\/title>/)
  for (let i = 0; i < 1200 && !lines.some((l) => l.startsWith('synced') || l.startsWith('ERR')); i++) await new Promise((r) => setTimeout(r, 50))
  const text = lines.join('\n')
  t.match(text, '✅ Dexcom Sandbox connected')
  t.match(text, /synced \d{4,} readings; the latest:/, 'a 90-day backfill')
  t.match(text, /\n {2}time \(Asia\/Tokyo\) +value {2}trend {2}display time\n {2}\d{4}-\d\d-\d\d \d\d:\d\d +\d+ mg\/dL/, 'readings are printed')
  // What the demo printed is what `latchkey dexcom readings` prints for the same rows.
  const printed = text.slice(text.indexOf('  time (')).split('\n').filter((l) => /^ {2}\d{4}-/.test(l)).map((l) => l.slice(2))
  const table: string[] = []
  t.equal(await main(['dexcom', 'readings', '--since', '3h'], { LATCHKEY_CONFIG: join(dir, 'config.json'), HOME: dir, TZ: 'Asia/Tokyo' }, { info: (l) => table.push(l), error: (l) => table.push(l) }), 0)
  const rows = table.join('\n').split('\n')
  t.ok(printed.length > 0)
  t.same(rows.slice(rows.indexOf(printed[0] ?? '-'), rows.indexOf(printed[0] ?? '-') + printed.length), printed, 'the same lines as the table')
  t.equal(rows[0]?.trimEnd(), text.slice(text.indexOf('  time (') + 2).split('\n')[0]?.trimEnd(), 'and the same heading')
  t.notMatch(text, /ERR/)
  stop.abort()
  t.equal(await running, 0)
})
