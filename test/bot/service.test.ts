// Starting and stopping the bot with the daemon: without a token it says so once; a 409 from
// getUpdates (another poller) is a clear warning; config errors never echo the token.
import t from 'tap'
import { parseConfig } from '../../src/config.js'
import { isAppError } from '../../src/errors.js'
import { TEST_BOT_TOKEN, startBotApiServer } from '../support/bot-api-server.js'
import { startTestDaemon } from '../support/daemon.js'
import { until } from './harness.js'

t.test('without a token the daemon runs without the bot and says so once', async (t) => {
  const d = await startTestDaemon(t)
  t.equal(d.daemon.bot, undefined)
  const lines = d.logs.lines().filter((l) => /running without the Telegram bot/.test(String(l.msg)))
  t.equal(lines.length, 1, 'one log line')
})

t.test('a 409 from getUpdates logs a clear warning', async (t) => {
  const tg = await startBotApiServer(t)
  tg.failNext('getUpdates', 409, 'Conflict: terminated by other getUpdates request; make sure that only one bot instance is running', 1000)
  const d = await startTestDaemon(t, { telegram: { token: TEST_BOT_TOKEN, allowedUserIds: [1], apiRoot: tg.apiRoot } })
  await d.daemon.bot?.ready
  t.ok(await until(() => /409 Conflict/.test(d.logs.text())), 'the 409 is logged')
  const line = d.logs.lines().find((l) => /409 Conflict/.test(String(l.msg)))
  t.equal(line?.level, 40, 'a warning')
  t.match(String(line?.msg), /another process is polling with this bot token/)
  t.notMatch(d.logs.text(), TEST_BOT_TOKEN, 'the token is not logged')
  await d.daemon.close() // stopping a bot that already gave up is fine
})

t.test('telegram config: token from the environment, allowlist required, token never echoed', async (t) => {
  const base = { dataDir: '/tmp/x', authFile: '/tmp/x/auth.json' }
  const c = parseConfig({ ...base, telegram: { allowedUserIds: [42] } }, { TELEGRAM_BOT_TOKEN: TEST_BOT_TOKEN })
  t.equal(c.telegram.token, TEST_BOT_TOKEN)
  t.same(c.telegram.allowedUserIds, [42])
  const problems = (raw: unknown, env: Record<string, string> = {}) => {
    try {
      parseConfig(raw, env)
      return ''
    } catch (err) {
      if (!isAppError(err, 'CONFIG_INVALID')) throw err
      return err.message
    }
  }
  t.match(problems({ ...base }, { TELEGRAM_BOT_TOKEN: TEST_BOT_TOKEN }), /telegram\.allowedUserIds: required when a bot token is set/)
  const bad = 'not-a-token-but-a-secret-canary-123'
  const message = problems({ ...base, telegram: { token: bad, allowedUserIds: [1] } })
  t.match(message, /telegram\.token: expected a bot token/)
  t.notMatch(message, bad, 'the bad token is not echoed')
  t.match(problems({ ...base, telegram: { allowedUserIds: [1], apiRoot: 'http://127.0.0.1:9/' } }), /telegram\.apiRoot: expected no trailing slash/)
  t.match(problems({ ...base, telegram: { allowedUserIds: [1], apiRoot: 'http://api.example.com' } }), /telegram\.apiRoot: expected an https URL/)
})
