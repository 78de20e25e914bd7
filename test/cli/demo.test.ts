// `npm run demo` is the first thing a newcomer runs: it lets them pick Dexcom, Oura or both (asked
// on a terminal, given as an argument, the first when run by a script), and on loopback, with no
// account, each link leads through its simulator's sandbox login to synced data, printed as the
// CLI prints it.
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { demoCommand, pickDemo } from '../../src/cli/demo.js'
import { main } from '../../src/cli/main.js'
import type { Output } from '../../src/cli/output.js'
import { CookieBrowser } from '../support/cookie-browser.js'
import { tempDir } from '../support/deps.js'
import { formSubmitUrl } from '../support/dexcom-simulator.js'
import { until } from '../support/until.js'

t.test('the pick: an argument, a terminal answer, or the first', async (t) => {
  const ids = async (which: string | undefined, answer?: string) => (await pickDemo(which, answer === undefined ? undefined : async () => answer)).map((i) => i.id)
  t.same(await ids(undefined), ['dexcom'], 'no terminal: the first, never waiting on stdin')
  t.same(await ids('oura'), ['oura'])
  t.same(await ids('both'), ['dexcom', 'oura'])
  t.same(await ids(undefined, ''), ['dexcom'], 'Enter: the default')
  t.same(await ids(undefined, '2'), ['oura'])
  t.same(await ids(undefined, '3'), ['dexcom', 'oura'], 'the last number is both')
  t.same(await ids(undefined, ' Oura '), ['oura'], 'a name works too')
  await t.rejects(pickDemo(undefined, async () => 'fitbit'), { message: '"fitbit" is not one of dexcom, oura, both' })
  const err: string[] = []
  t.equal(await main(['demo', 'fitbit'], { HOME: tempDir(t) }, { info: () => {}, error: (l) => err.push(l) }), 2, 'a bad argument is a usage error')
  t.match(err.join('\n'), /Allowed choices are dexcom, oura, both/)
})

t.test('demo both: two links, each through its simulator’s sandbox login, then readings and sleep as the CLI prints them', async (t) => {
  const dir = tempDir(t)
  const lines: string[] = []
  const out: Output = { info: (l) => lines.push(l), error: (l) => lines.push(`ERR ${l}`) }
  const stop = new AbortController()
  // The user's environment may hold their real daemon's settings: the demo must ignore them.
  const userEnv = { TELEGRAM_BOT_TOKEN: '123456:ABC-real-bot-token-0123456789', LATCHKEY_DEXCOM_SANDBOX_CLIENT_ID: 'their-real-client' }
  const running = demoCommand({ LATCHKEY_DEMO_DIR: dir, HOME: dir, TZ: 'Asia/Tokyo', ...userEnv }, out, { signal: stop.signal, which: 'both' })
  t.teardown(() => stop.abort())
  const links = await until(() => {
    const found = lines.join('\n').match(/http:\/\/127\.0\.0\.1:\d+\/oauth\/start\/[A-Za-z0-9_-]{43}/g)
    return found && found.length === 2 ? found : undefined
  }, 20_000)
  t.equal(links?.length, 2, 'one link per integration')
  t.ok(existsSync(join(dir, 'config.json')), 'and the config it generated is written')
  t.match(lines.join('\n'), /\nDexcom: open this link in a browser on this machine, pick a sandbox user and approve:\n\n {2}http.*\n\nOura: open this link in a browser on this machine, pick a sandbox user \(sleeper-ada grants every scope\):/)
  const [dexcomLink, ouraLink] = links as string[]

  const oura = new CookieBrowser()
  const consent = await oura.get(ouraLink as string)
  const pick = /href="([^"]*user=sleeper-ada[^"]*)"/.exec(consent.body)?.[1]?.replaceAll('&amp;', '&')
  t.equal((await oura.get(new URL(String(pick), consent.url).href)).status, 200, 'Oura approved')
  const dexcom = new CookieBrowser()
  const login = await dexcom.get(dexcomLink as string)
  t.match(login.body, /SandboxUser7/, 'the Dexcom simulator’s sandbox login page')
  const approve = await dexcom.get(formSubmitUrl(login.body, login.url, { username: 'SandboxUser7' }))
  const done = await dexcom.get(formSubmitUrl(approve.body, approve.url, { approve: 'yes' }))
  // Under load the page may answer before the exchange ends (it waits at most 8 s).
  t.match(done.body, /<title>Dexcom Sandbox (connected|approved)<\/title>/)

  t.ok(await until(() => lines.some((l) => l.startsWith('\nThe daemon keeps syncing') || l.startsWith('ERR')), 60_000), 'both reported')
  const text = lines.join('\n')
  t.notMatch(text, /ERR/)
  t.match(text, '✅ Oura Sandbox connected')
  t.match(text, /synced Oura; the last 7 days:\n {2}day {9}sleep {2}ready {2}activity {2}sleep h {2}steps\n {2}\d{4}-\d\d-\d\d +\d+/, 'the oura daily table')
  t.match(text, /\nLast night \(\d{4}-\d\d-\d\d\): sleep score \d+/, 'what /sleep says')
  t.match(text, '✅ Dexcom Sandbox connected')
  t.match(text, /synced \d{4,} readings; the latest:/, 'a 90-day backfill')
  t.match(text, /\n {2}time \(Asia\/Tokyo\) +value {2}trend {2}display time\n {2}\d{4}-\d\d-\d\d \d\d:\d\d +[<>]?\d+ mg\/dL/, 'readings are printed')
  t.match(text, /Try: latchkey dexcom readings --since 24h or latchkey oura daily --since 7d \(LATCHKEY_CONFIG=.*config\.json\)/)

  // What the demo printed is what `latchkey dexcom readings` and `oura daily` print for the same rows.
  const cli = async (...argv: string[]) => {
    const got: string[] = []
    t.equal(await main(argv, { LATCHKEY_CONFIG: join(dir, 'config.json'), HOME: dir, TZ: 'Asia/Tokyo' }, { info: (l) => got.push(l), error: (l) => got.push(l) }), 0, argv.join(' '))
    return got.join('\n').split('\n')
  }
  const printed = text.slice(text.indexOf('  time (')).split('\n').filter((l) => /^ {2}\d{4}-\d\d-\d\d \d\d:/.test(l)).map((l) => l.slice(2))
  const rows = await cli('dexcom', 'readings', '--since', '3h')
  t.ok(printed.length > 0)
  t.same(rows.slice(rows.indexOf(printed[0] ?? '-'), rows.indexOf(printed[0] ?? '-') + printed.length), printed, 'the same lines as the readings table')
  t.equal(rows[0]?.trimEnd(), text.slice(text.indexOf('  time (') + 2).split('\n')[0]?.trimEnd(), 'and the same heading')
  const days = text.slice(text.indexOf('synced Oura')).split('\n').filter((l) => /^ {2}\d{4}-\d\d-\d\d {2}/.test(l)).map((l) => l.slice(2))
  const daily = await cli('oura', 'daily', '--since', '6d')
  t.same(daily.slice(1), days, 'the same days as oura daily')
  stop.abort()
  t.equal(await running, 0)
})
