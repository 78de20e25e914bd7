// `latchkey status`: one line per connection with its state, expiry, last refresh, scopes, scopes
// requested but not granted, failures and re-consent due; real SQLite and auth.json, a manual clock.
import { mkdirSync, writeFileSync } from 'node:fs'
import { dirname } from 'node:path'
import t from 'tap'
import { statusCommand, type StatusRow } from '../../src/cli/status.js'
import type { Output } from '../../src/cli/output.js'
import { markNeedsReauth, recordRefreshFailure, recordRefreshSuccess, upsertConsent } from '../../src/db/connections.js'
import { testConfig, testDeps } from '../support/deps.js'

const MIN = 60_000
const DAY = 24 * 60 * MIN
const base = { authorizationUrl: 'https://as.example/a', tokenUrl: 'https://as.example/t', clientId: 'c' }

t.test('every state a connection can be in, each on its line', async (t) => {
  const config = testConfig(t, {
    providers: {
      acme: { ...base, displayName: 'Acme', scopes: ['read'] },
      beta: { ...base, displayName: 'Beta', scopes: ['read'] },
      music: { ...base, displayName: 'Music', scopes: ['play', 'library'], refreshTokenMaxAgeMs: 180 * DAY },
      gone: { ...base, displayName: 'Gone', scopes: ['read'] },
    },
  })
  const deps = testDeps(t, { config })
  const now = deps.clock.now()
  upsertConsent(deps.db, { provider: 'music', now: now - 150 * DAY, requestedScopes: ['play', 'library'], grantedScopes: ['play'] })
  recordRefreshSuccess(deps.db, 'music', now - 10 * MIN, null)
  upsertConsent(deps.db, { provider: 'acme', now: now - DAY, requestedScopes: ['read'], grantedScopes: ['read'] })
  recordRefreshFailure(deps.db, 'acme', now - 2 * MIN, 'provider_unreachable', now + MIN)
  recordRefreshFailure(deps.db, 'acme', now - MIN, 'provider_unreachable', now + 2 * MIN)
  upsertConsent(deps.db, { provider: 'beta', now: now - DAY, requestedScopes: ['read'], grantedScopes: ['read'] })
  markNeedsReauth(deps.db, 'beta', now - MIN, 'invalid_grant')
  upsertConsent(deps.db, { provider: 'gone', now: now - DAY, requestedScopes: ['read'], grantedScopes: null }) // its entry was deleted by hand
  mkdirSync(dirname(config.authFile), { recursive: true })
  writeFileSync(
    config.authFile,
    JSON.stringify({
      music: { type: 'oauth', access: 'TOKEN-a1', refresh: 'TOKEN-r1', expires: now + 50 * MIN, scope: 'play' },
      acme: { type: 'oauth', access: 'TOKEN-a2', refresh: 'TOKEN-r2', expires: now - 5 * MIN },
      beta: { type: 'oauth', access: 'TOKEN-a3', refresh: 'TOKEN-r3', expires: now - DAY },
      oura: { type: 'oauth', access: 'TOKEN-theirs', refresh: 'TOKEN-their-rt', expires: now + DAY }, // another tool's
      anthropic: { type: 'api', key: 'k' },
    }),
  )
  const lines: string[] = []
  const out: Output = { info: (l) => lines.push(l), error: (l) => lines.push(`ERR ${l}`) }
  t.equal(await statusCommand(deps, out), 1, 'exit 1: some connections need attention')
  t.equal(
    lines.join('\n'),
    [
      'acme  ! refresh failing (2 failed refreshes, last: provider_unreachable)',
      '  token: expired 5 min ago',
      '  scopes: read',
      'beta  ✗ needs reconnecting',
      '  token: expired 24 h 0 min ago',
      '  scopes: read',
      '  run: latchkey reconnect beta',
      'gone  ✗ tokens missing from auth.json',
      '  scopes: none reported by Gone',
      '  run: latchkey reconnect gone',
      'music  ✓ connected',
      '  token: expires in 50 min, refreshed 10 min ago',
      '  scopes: play (not granted: library)',
      '  re-consent due in 30 days',
      'oura  - written by another tool; latchkey does not refresh it',
      '  token: expires in 24 h 0 min',
      '  scopes: none reported by Oura',
    ].join('\n'),
  )
  const json: string[] = []
  t.equal(await statusCommand(deps, { info: (l) => json.push(l), error: (l) => json.push(l) }, { json: true }), 1)
  const rows = JSON.parse(json.join('')) as { provider: string; state: string; needsAttention: boolean; scopes: string[]; missingScopes: string[]; reconsentDueAt: string | null }[]
  t.same(
    rows.map((r) => [r.provider, r.state, r.needsAttention]),
    [
      ['acme', 'failing', true],
      ['beta', 'needs_reauth', true],
      ['gone', 'missing', true],
      ['music', 'connected', false],
      ['oura', 'external', false],
    ],
  )
  t.same(rows[3]?.scopes, ['play'])
  t.same(rows[3]?.missingScopes, ['library'])
  t.equal(rows[3]?.reconsentDueAt, new Date(now + 30 * DAY).toISOString())
  t.notMatch(json.join(''), 'TOKEN-', 'no token in the JSON')
  deps.clock.advance(28 * DAY)
  const later: StatusRow[] = []
  await statusCommand(deps, { info: (l) => later.push(...(JSON.parse(l) as StatusRow[])), error: () => {} }, { json: true })
  t.equal(later.find((r) => r.provider === 'music')?.needsAttention, true, 're-consent due within 3 days needs attention')
  t.notMatch(lines.join('\n'), 'TOKEN-', 'no token in the output')
})
