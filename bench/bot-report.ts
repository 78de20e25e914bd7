// Time from the callback to the ✅ edit reaching the Bot API server. The compiled daemon runs as
// a child process with its bot long-polling a Bot API server in this process (loopback);
// oidc-provider is the authorization server. Per flow: the user sends "connect acme", a cookie
// jar follows the link button through the provider's auto-approving interaction and stops at the
// redirect to the callback; the clock starts when the callback request is sent and stops when
// the bot's editMessageText with ✅ for that link message arrives at the Bot API server.
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { TEST_BOT_TOKEN, buttons, startBotApiServer } from '../test/support/bot-api-server.js'
import { spawnDaemon } from '../test/support/child-daemon.js'
import { CookieBrowser } from '../test/support/cookie-browser.js'
import { freePort, tempDir } from '../test/support/deps.js'
import { Cleanup, fixed, goal, median, percentile, stopChild, table, withTimeout } from './support.js'

const FLOWS = 30
const WARMUP_FLOWS = 3
const STEP_TIMEOUT_MS = 15_000
const USER = { id: 4242, first_name: 'Bench' }

export async function botReport(): Promise<void> {
  const cleanup = new Cleanup()
  const { warn, info } = console
  const quiet = (original: (...a: unknown[]) => void) => (...a: unknown[]) => {
    if (!(typeof a[0] === 'string' && /oidc-provider (WARNING|NOTICE)/.test(a[0]))) original(...a)
  }
  console.warn = quiet(warn)
  console.info = quiet(info)
  try {
    const port = await freePort()
    const base = `http://127.0.0.1:${port}`
    const callbackPrefix = `${base}/oauth/callback?`
    const { startOidcServer } = await import('../test/support/oidc-server.js')
    const as = await startOidcServer({
      clients: [{ clientId: 'bench', clientSecret: 'bench-secret', redirectUris: [`${base}/oauth/callback`], authMethod: 'client_secret_basic' }],
    })
    cleanup.teardown(() => as.close())
    const tg = await startBotApiServer(cleanup)

    const dir = tempDir(cleanup, 'latchkey-bench-')
    mkdirSync(join(dir, 'home'))
    const configPath = join(dir, 'config.json')
    writeFileSync(
      configPath,
      JSON.stringify({
        publicUrl: base,
        listen: { host: '127.0.0.1', port },
        dataDir: join(dir, 'data'),
        authFile: join(dir, 'agent', 'auth.json'),
        logLevel: 'warn',
        resolveIntervalMs: 600_000,
        telegram: { token: TEST_BOT_TOKEN, allowedUserIds: [USER.id], apiRoot: tg.apiRoot },
        providers: {
          acme: {
            displayName: 'Acme',
            authorizationUrl: as.authorizationUrl,
            tokenUrl: as.tokenUrl,
            clientId: 'bench',
            clientSecret: 'bench-secret',
            clientAuth: 'basic',
            scopes: ['openid', 'offline_access'],
            issuer: as.issuer,
          },
        },
      }),
    )
    const daemon = await withTimeout(spawnDaemon({ LATCHKEY_CONFIG: configPath, HOME: join(dir, 'home') }, base), 20_000, 'daemon start')
    cleanup.teardown(() => stopChild(daemon.proc))
    await tg.waitFor((r) => r.method === 'getUpdates', { ms: STEP_TIMEOUT_MS, what: 'the bot polling' })

    const samples: number[] = []
    const failures: string[] = []
    for (let i = 0; i < WARMUP_FLOWS + FLOWS; i++) {
      try {
        const from = tg.requests.length
        tg.userSays(USER, 'connect acme')
        const link = await tg.waitFor((r) => r.method === 'sendMessage' && /waiting for you to approve/.test(String(r.payload.text)), { from, ms: STEP_TIMEOUT_MS, what: 'the link' })
        const linkMessage = [...tg.messages.values()].filter((m) => m.fromBot && m.chatId === USER.id).at(-1)
        const url = buttons(link.payload)[0]?.url
        if (!linkMessage || !url) throw new Error('no link button')
        const browser = new CookieBrowser()
        const redirect = await withTimeout(browser.get(url, { stopAt: (u) => u.startsWith(callbackPrefix) }), STEP_TIMEOUT_MS, 'link to callback redirect')
        const callbackUrl = new URL(String(redirect.headers.location), redirect.url).href
        const mark = tg.requests.length
        const t0 = performance.now()
        const edited = tg.waitFor((r) => r.method === 'editMessageText' && Number(r.payload.message_id) === linkMessage.messageId && /^✅/.test(String(r.payload.text)), { from: mark, ms: STEP_TIMEOUT_MS, what: 'the ✅ edit' })
        await withTimeout(browser.get(callbackUrl), STEP_TIMEOUT_MS, 'callback')
        const edit = await edited
        if (i >= WARMUP_FLOWS) samples.push(edit.at - t0)
      } catch (err) {
        failures.push((err as Error).message)
      }
    }
    const sorted = [...samples].sort((x, y) => x - y)
    console.log(`  ${FLOWS} sequential chat flows after ${WARMUP_FLOWS} warm-up flows; compiled daemon as a child process; Bot API server and oidc-provider in this process`)
    console.log(
      table(
        ['ms', 'median', 'p95', 'min', 'max'],
        [['callback sent → ✅ edit at the Bot API', fixed(median(sorted)), fixed(percentile(sorted, 95)), fixed(sorted[0] ?? Number.NaN), fixed(sorted.at(-1) ?? Number.NaN)]],
      ),
    )
    console.log(`  measured: ${samples.length}/${FLOWS}`)
    const p95 = percentile(sorted, 95)
    console.log(goal('callback → ✅ edit, p95', `${fixed(p95)} ms`, '≤ 150 ms', samples.length === FLOWS && p95 <= 150))
    for (const f of [...new Set(failures)].slice(0, 5)) console.log(`  failure: ${f}`)
    if (failures.length) console.log(`  daemon output (tail):\n${daemon.output().slice(-2_000)}`)
  } finally {
    await cleanup.run()
    console.warn = warn
    console.info = info
  }
}
