// Time from the callback to `connected`, with oidc-provider on loopback as the authorization
// server (PKCE required, client_secret_basic) and the compiled daemon as a child process
// (`node dist/src/cli/bin.js serve`, resolveIntervalMs 10 minutes, so the callback's event is
// what runs the resolve job). Per flow: POST /oauth/flows; a cookie jar follows the start link
// through the provider's auto-approving interaction and stops at the redirect to the callback;
// the clock starts when the callback request is sent (its page waits for the exchange) and
// stops when GET /oauth/pending/<state>?wait=10 answers `connected`.
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { spawnDaemon } from '../test/support/child-daemon.js'
import { CookieBrowser } from '../test/support/cookie-browser.js'
import { freePort, tempDir } from '../test/support/deps.js'
import { Cleanup, fixed, goal, median, percentile, stopChild, table, withTimeout } from './support.js'

const FLOWS = 30
const WARMUP_FLOWS = 3
const STEP_TIMEOUT_MS = 15_000
const API_TOKEN = 'bench-api-token-0123456789abcdef-0123456789'

/** oidc-provider prints development warnings on import and start-up; keep them out of the report. */
async function quietly<T>(fn: () => Promise<T>): Promise<{ value: T; dropped: number }> {
  const { warn, info } = console
  let dropped = 0
  const filter =
    (original: (...args: unknown[]) => void) =>
    (...args: unknown[]) => {
      if (typeof args[0] === 'string' && /oidc-provider (WARNING|NOTICE)/.test(args[0])) dropped++
      else original(...args)
    }
  console.warn = filter(warn)
  console.info = filter(info)
  try {
    return { value: await fn(), dropped }
  } finally {
    console.warn = warn
    console.info = info
  }
}

interface Sample {
  pageMs: number
  connectedMs: number
}

export async function callbackToConnected(): Promise<void> {
  const cleanup = new Cleanup()
  try {
    const port = await freePort()
    const base = `http://127.0.0.1:${port}`
    const callbackPrefix = `${base}/oauth/callback?`
    const { value: as, dropped } = await quietly(async () => {
      const { startOidcServer } = await import('../test/support/oidc-server.js')
      return startOidcServer({
        clients: [{ clientId: 'bench', clientSecret: 'bench-secret', redirectUris: [`${base}/oauth/callback`], authMethod: 'client_secret_basic' }],
      })
    })
    cleanup.teardown(() => as.close())

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
        apiToken: API_TOKEN,
        logLevel: 'warn',
        resolveIntervalMs: 600_000,
        providers: {
          acme: {
            displayName: 'Acme',
            authorizationUrl: as.authorizationUrl,
            tokenUrl: as.tokenUrl,
            clientId: 'bench',
            clientSecret: 'bench-secret',
            clientAuth: 'basic',
            scopes: ['openid', 'offline_access'],
            usePkce: true,
            issuer: as.issuer,
          },
        },
      }),
    )
    const daemon = await withTimeout(spawnDaemon({ LATCHKEY_CONFIG: configPath, HOME: join(dir, 'home') }, base), 20_000, 'daemon start')
    cleanup.teardown(() => stopChild(daemon.proc))

    const api = (path: string, init: RequestInit = {}) =>
      fetch(`${base}${path}`, {
        ...init,
        headers: { authorization: `Bearer ${API_TOKEN}`, 'content-type': 'application/json' },
        signal: AbortSignal.timeout(STEP_TIMEOUT_MS),
      })

    const samples: Sample[] = []
    const failures: string[] = []
    for (let i = 0; i < WARMUP_FLOWS + FLOWS; i++) {
      const created = await api('/oauth/flows', { method: 'POST', body: JSON.stringify({ provider: 'acme' }) })
      if (created.status !== 201) {
        failures.push(`POST /oauth/flows answered ${created.status}`)
        continue
      }
      const flow = (await created.json()) as { state: string; startUrl: string }
      const browser = new CookieBrowser()
      const redirect = await withTimeout(
        browser.get(flow.startUrl, { stopAt: (url) => url.startsWith(callbackPrefix) }),
        STEP_TIMEOUT_MS,
        'start link to callback redirect',
      )
      const location = redirect.headers.location
      if (typeof location !== 'string' || !new URL(location, redirect.url).href.startsWith(callbackPrefix)) {
        failures.push(`no redirect to the callback (last status ${redirect.status} at ${new URL(redirect.url).pathname})`)
        continue
      }
      const callbackUrl = new URL(location, redirect.url).href

      const t0 = performance.now()
      const page = await withTimeout(browser.get(callbackUrl), STEP_TIMEOUT_MS, 'callback')
      const tPage = performance.now()
      const pending = (await (await api(`/oauth/pending/${flow.state}?wait=10`)).json()) as { status?: string; error?: string }
      const tDone = performance.now()

      if (pending.status !== 'connected') failures.push(`pending said ${pending.status}${pending.error ? ` (${pending.error})` : ''}, page ${page.status}`)
      else if (i >= WARMUP_FLOWS) samples.push({ pageMs: tPage - t0, connectedMs: tDone - t0 })
    }

    const row = (label: string, values: number[]) => {
      const sorted = [...values].sort((x, y) => x - y)
      return [label, fixed(median(sorted)), fixed(percentile(sorted, 95)), fixed(sorted[0] ?? Number.NaN), fixed(sorted[sorted.length - 1] ?? Number.NaN)]
    }
    console.log(`  ${FLOWS} sequential flows after ${WARMUP_FLOWS} warm-up flows; compiled daemon as a child process, oidc-provider in this process`)
    console.log(
      table(
        ['ms', 'median', 'p95', 'min', 'max'],
        [row('callback sent → pending says connected', samples.map((s) => s.connectedMs)), row('callback sent → callback page received', samples.map((s) => s.pageMs))],
      ),
    )
    const tokenPosts = as.tokenRequests
    console.log(
      `  connected: ${samples.length}/${FLOWS} measured flows; token requests at the AS: ${tokenPosts.length} (${tokenPosts.filter((r) => r.status === 200).length} answered 200); oidc-provider dev warnings hidden: ${dropped}`,
    )
    const connected = samples.map((s) => s.connectedMs).sort((x, y) => x - y)
    const [mid, p95] = [median(connected), percentile(connected, 95)]
    const complete = samples.length === FLOWS
    console.log(goal('callback → connected, median', `${fixed(mid)} ms`, '≤ 50 ms', complete && mid <= 50))
    console.log(goal('callback → connected, p95', `${fixed(p95)} ms`, '≤ 100 ms', complete && p95 <= 100))
    for (const f of [...new Set(failures)].slice(0, 5)) console.log(`  failure: ${f}`)
    if (failures.length) console.log(`  daemon output (tail):\n${daemon.output().slice(-2_000)}`)
  } finally {
    await cleanup.run()
  }
}
