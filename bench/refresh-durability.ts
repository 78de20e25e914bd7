// The cost of keeping a rotated refresh token durable (issue 9): the median refresh round trip
// through TokenSource (lock, read, journal room checked, POST to a loopback rotating server,
// journal append + fsync, auth.json temp + fsync + rename + directory fsync, journal blanked)
// against the same round trip as TokenSource did it before the journal (46e7a7f: read, status,
// lock, read, ensure the row, POST, auth.json write, record the success, log), rebuilt here step
// for step from the same primitives, in the same run, alternating so drift hits both alike.
import { join } from 'node:path'
import { ensureConnection, getConnectionStatus, recordRefreshSuccess } from '../src/db/connections.js'
import { createDeps } from '../src/deps.js'
import { createLogger } from '../src/log.js'
import { buildTokenRequest } from '../src/oauth/requests.js'
import { TokenSource } from '../src/oauth/refresh.js'
import { fetchToken } from '../src/oauth/token-client.js'
import { parseTokenResponse } from '../src/oauth/token-response.js'
import { getProvider } from '../src/providers/lookup.js'
import { asOAuthEntry, readAuthFile, saveOAuthEntry, writeAuthFileAtomic } from '../src/store/auth-json.js'
import { withAuthLock } from '../src/store/auth-lock.js'
import { tempDir, testConfig } from '../test/support/deps.js'
import { startRotatingServer } from '../test/support/rotating-server.js'
import { Cleanup, fixed, goal, median, table } from './support.js'

const ROUNDS = 200
const FOREVER = 10 * 365 * 86_400_000

export async function refreshDurability(): Promise<void> {
  const cleanup = new Cleanup()
  try {
    const as = await startRotatingServer(cleanup)
    const dir = tempDir(cleanup, 'latchkey-bench-')
    const provider = { displayName: 'Acme', authorizationUrl: `${as.url}/auth`, tokenUrl: as.tokenUrl, clientId: 'c', clientSecret: 's', scopes: ['read'] }
    const config = testConfig(cleanup, { dataDir: join(dir, 'data'), authFile: join(dir, 'auth.json'), providers: { acme: provider } })
    const deps = createDeps(config, { log: createLogger('silent') })
    cleanup.teardown(() => deps.db.close())
    const grant = as.newGrant()
    await saveOAuthEntry(config.authFile, 'acme', { type: 'oauth', access: grant.access, refresh: grant.refresh, expires: Date.now() + 3_600_000 })
    const source = new TokenSource(deps)
    const acme = getProvider(config, 'acme')

    /** The pre-journal refresh (TokenSource at 46e7a7f): nothing kept if the write fails. */
    const before = async () => {
      asOAuthEntry((await readAuthFile(config.authFile)).acme)
      getConnectionStatus(deps.db, 'acme')
      await withAuthLock(config.authFile, async () => {
        const auth = await readAuthFile(config.authFile)
        const entry = asOAuthEntry(auth.acme)
        ensureConnection(deps.db, 'acme', Date.now(), acme.scopes)
        const raw = await fetchToken(deps.http, buildTokenRequest(acme, { grantType: 'refresh_token', refreshToken: entry?.refresh ?? '' }))
        const outcome = parseTokenResponse(acme, raw, Date.now(), entry?.refresh)
        if (outcome.kind !== 'tokens') throw new Error(`refresh failed: ${outcome.kind}`)
        await writeAuthFileAtomic(config.authFile, { ...auth, acme: outcome.entry }, deps.log, auth)
        recordRefreshSuccess(deps.db, 'acme', Date.now(), outcome.grantedScopes)
        deps.log.info({ provider: 'acme', expiresInMs: outcome.entry.expires === undefined ? null : outcome.entry.expires - Date.now() }, 'token refreshed')
      })
    }
    const after = () => source.getAccessToken('acme', { minValidityMs: FOREVER })

    const timings = { before: [] as number[], after: [] as number[] }
    for (let i = 0; i < 20; i++) await (i % 2 ? before() : after()) // warm-up: got loaded, caches hot
    for (let i = 0; i < ROUNDS; i++) {
      for (const [name, run] of (i % 2 ? [['before', before], ['after', after]] : [['after', after], ['before', before]]) as [keyof typeof timings, () => Promise<unknown>][]) {
        const t0 = performance.now()
        await run()
        timings[name].push(performance.now() - t0)
      }
    }
    if (as.reuses.length > 0) throw new Error('a refresh token was reused: the bench is broken')
    const b = median(timings.before)
    const a = median(timings.after)
    console.log(table(['refresh round trip', 'median ms'], [['before: TokenSource as at 46e7a7f (no journal)', fixed(b, 2)], ['after: + journal room, append + fsync', fixed(a, 2)]]))
    console.log(goal('durable refresh vs before', `${fixed(a / b, 2)}×`, '≤ 1.2×', a / b <= 1.2))
  } finally {
    await cleanup.run()
  }
}
