// GET /oauth/pending/:state: bearer, path tricks, the status life cycle, long-polling driven by
// the callback event, and the one-time code handoff of client-exchanged flows.
import { readFileSync } from 'node:fs'
import t from 'tap'
import { resolvePending } from '../../src/oauth/pending.js'
import { API_TOKEN, harness, q, untilListening } from './harness.js'

t.test('bearer: 401 without it or with a wrong one', async (t) => {
  const h = await harness(t)
  const f = await h.createFlow()
  for (const [name, token] of [['none', null], ['wrong', 'x'.repeat(API_TOKEN.length)], ['longer', `${API_TOKEN}0`], ['empty', '']] as const) {
    const res = await h.pending(f.state, '', token)
    t.equal(res.statusCode, 401, name)
    t.equal(res.headers['www-authenticate'], 'Bearer', name)
    t.same(res.json(), { error: 'unauthorized', message: 'a valid Bearer API token is required' }, name)
    t.notOk(res.body.includes('waiting'), `${name}: no status leaks`)
  }
  const bad = await h.inject({ method: 'GET', url: `/oauth/pending/${f.state}`, headers: { authorization: `Token ${API_TOKEN}` } })
  t.equal(bad.statusCode, 401, 'another scheme')
  const ok = await h.pending(f.state)
  t.equal(ok.statusCode, 200, 'the right bearer passes')
})

t.test('path tricks: 404, never a file, never a match', async (t) => {
  const h = await harness(t)
  const f = await h.createFlow()
  const tricks: Record<string, string> = {
    traversal: '..%2f..%2fauth.json',
    'dot-dot segment': '%2e%2e',
    'encoded dots and slash': '%2e%2e%2f%2e%2e%2fauth.json',
    'double encoded': '..%252f..%252fauth.json',
    'double encoded state': `${f.state.slice(0, 40)}%252f`,
    sql: "'%20OR%201=1--",
    'sql with quote': `${f.state.slice(0, 38)}'--%20`,
    'like wildcard': `${f.state.slice(0, 42)}%25`,
    'LIKE underscore': `${f.state.slice(0, 42)}${f.state.endsWith('_') ? '-' : '_'}`,
    '44 chars (state + 1)': `${f.state}A`,
    '42 chars (state - 1)': f.state.slice(0, 42),
    'upper-cased state': f.state.toUpperCase() === f.state ? f.state.toLowerCase() : f.state.toUpperCase(),
    'trailing NUL': `${f.state.slice(0, 42)}%00`,
    'fullwidth char': `${f.state.slice(0, 42)}%EF%BC%A1`,
    'flow id instead of state': f.flowId,
  }
  t.not(f.state, tricks['upper-cased state'])
  for (const [name, path] of Object.entries(tricks)) {
    const res = await h.pending(path)
    t.equal(res.statusCode, 404, name)
    t.equal(res.json().error, 'not_found', name)
    t.notOk(res.body.includes('"status"'), `${name}: no flow status`)
    t.notOk(res.body.includes(f.state), `${name}: no state`)
  }
  const real = await h.pending(f.state)
  t.equal(real.statusCode, 200, 'positive control')
  t.equal(real.json().status, 'waiting')
})

t.test('status life cycle: waiting, exchanging, connected', async (t) => {
  const h = await harness(t)
  const f = await h.ready()
  const waiting = await h.pending(f.state)
  t.equal(waiting.statusCode, 200)
  t.equal(waiting.headers['cache-control'], 'no-store')
  t.same(waiting.json(), { status: 'waiting', provider: 'acme', expiresAt: f.expiresAt })

  t.equal((await h.callback(q({ code: 'lifecycle', state: f.state }), f.cookie)).statusCode, 200)
  const exchanging = await h.pending(f.state)
  t.same(exchanging.json(), { status: 'exchanging', provider: 'acme', expiresAt: f.expiresAt })
  t.notOk(exchanging.body.includes('lifecycle'), 'a daemon flow never hands out its code')
  t.equal(h.tokenRequests().length, 0)

  const summary = await resolvePending(h.deps)
  t.same(summary.changedStates, [f.state])
  const connected = await h.pending(f.state)
  t.equal(connected.statusCode, 200)
  t.same(connected.json(), { status: 'connected', provider: 'acme', scopes: ['read', 'offline_access'], expiresAt: f.expiresAt })
  const again = await h.pending(f.state)
  t.equal(again.json().status, 'connected', 'a daemon flow can be read again')

  t.equal(h.tokenRequests().length, 1)
  const token = h.tokenRequests()[0]
  t.equal(token?.method, 'POST')
  t.match(token?.form, { grant_type: 'authorization_code', code: 'lifecycle', redirect_uri: 'http://127.0.0.1:8400/oauth/callback', client_id: 'acme-client-id' })
  t.match(token?.form.code_verifier, /^[A-Za-z0-9_-]{43}$/)
  const auth = JSON.parse(readFileSync(h.deps.config.authFile, 'utf8')) as Record<string, Record<string, unknown>>
  t.match(auth.acme, { type: 'oauth', access: /^access-CANARY-/, refresh: /^refresh-CANARY-/, scope: 'read offline_access', tokenType: 'Bearer', expires: h.deps.clock.now() + 3_600_000 })
})

t.test('?wait must be 0..60 whole seconds', async (t) => {
  const h = await harness(t)
  const f = await h.createFlow()
  for (const wait of ['61', 'abc', '-1', '1.5', '100', '', '1e1', '0x10', '%20%205']) {
    const res = await h.pending(f.state, `wait=${wait}`)
    t.equal(res.statusCode, 400, `wait=${wait}`)
    t.equal(res.json().error, 'invalid_request', `wait=${wait}`)
    t.match(res.json().message, /wait/)
  }
  const repeated = await h.pending(f.state, 'wait=1&wait=2')
  t.equal(repeated.statusCode, 400, 'repeated wait')
  const zero = await h.pending(f.state, 'wait=0')
  t.equal(zero.statusCode, 200)
  t.equal(zero.json().status, 'waiting', 'wait=0 answers at once')
})

t.test('long-poll answers when the callback arrives', async (t) => {
  const h = await harness(t)
  const f = await h.ready()
  const before = h.deps.events.listenerCount('flow-changed')
  let answered = false
  const poll = h.pending(f.state, 'wait=5').then((res) => {
    answered = true
    return res
  })
  // The poll is parked on the event (not a sleep loop) before the callback happens.
  await untilListening(h, before + 1)
  t.equal(answered, false, 'the poll is still waiting when the callback comes')
  t.equal(h.status(f.state), 'waiting')

  const cb = await h.callback(q({ code: 'long-poll', state: f.state }), f.cookie)
  t.equal(cb.statusCode, 200)
  t.equal(h.deps.events.listenerCount('flow-changed'), before, 'the event released the poll at once')
  const res = await poll
  t.equal(res.statusCode, 200)
  t.equal(res.json().status, 'exchanging', 'answered with the new status')
  t.not(res.json().status, 'waiting')
})

t.test('long-poll wakes on the resolve job\'s change and ignores other flows', async (t) => {
  const h = await harness(t)
  const f = await h.ready()
  const other = await h.ready()
  t.equal((await h.callback(q({ code: 'x', state: f.state }), f.cookie)).statusCode, 200)
  let answered = false
  const poll = h.pending(f.state, 'wait=5').then((res) => {
    answered = true
    return res
  })
  await untilListening(h)
  // Another flow's change does not answer this poll.
  t.equal((await h.callback(q({ code: 'y', state: other.state }), other.cookie)).statusCode, 200)
  await new Promise((resolve) => setImmediate(resolve))
  t.equal(answered, false, 'another state\'s event does not end the poll')
  t.equal(h.deps.events.listenerCount('flow-changed'), 1)

  // The scheduler forwards the job's changed states as flow-changed events.
  const summary = await resolvePending(h.deps)
  t.equal(answered, false, 'nothing answers before the event')
  for (const state of summary.changedStates) h.deps.events.emit('flow-changed', state)
  const res = await poll
  t.equal(res.json().status, 'connected')
  t.same(res.json().scopes, ['read', 'offline_access'])
})

t.test('long-poll on a finished flow answers at once', async (t) => {
  const h = await harness(t)
  const f = await h.ready()
  t.equal((await h.callback(q({ error: 'access_denied', state: f.state }), f.cookie)).statusCode, 200)
  const res = await h.pending(f.state, 'wait=60')
  t.match(res.json(), { status: 'denied', error: 'access_denied' })
  t.equal(h.deps.events.listenerCount('flow-changed'), 0, 'no watcher left behind')
})

t.test('client exchange: the code is handed out once, then 404; no token request', async (t) => {
  const h = await harness(t)
  const f = await h.ready('acme', 'client')
  const flowRow = h.deps.db.prepare('SELECT code_verifier AS v, redirect_uri AS r, token_url AS u FROM oauth_flows WHERE state = ?').get(f.state) as { v: string; r: string; u: string }
  const waiting = await h.pending(f.state)
  t.same(waiting.json(), { status: 'waiting', provider: 'acme', expiresAt: f.expiresAt })
  t.notOk(waiting.body.includes(flowRow.v), 'no verifier before the callback')

  const cb = await h.callback(q({ code: 'client-code-1', state: f.state }), f.cookie)
  t.equal(cb.statusCode, 200)
  t.match(cb.body, /The app that asked for this connection will finish it/)
  t.notOk(cb.body.includes('client-code-1'))
  await resolvePending(h.deps)
  t.equal(h.tokenRequests().length, 0, 'the resolve job leaves client flows alone')
  t.equal(h.count('oauth_pending'), 1)

  const first = await h.pending(f.state)
  t.equal(first.statusCode, 200)
  t.equal(first.headers['cache-control'], 'no-store')
  t.same(first.json(), {
    status: 'connected',
    provider: 'acme',
    code: 'client-code-1',
    redirectUri: flowRow.r,
    codeVerifier: flowRow.v,
    tokenUrl: flowRow.u,
  })
  t.match(flowRow.v, /^[A-Za-z0-9_-]{43}$/)

  const second = await h.pending(f.state)
  t.equal(second.statusCode, 404, 'delivered once')
  t.notOk(second.body.includes('client-code-1'))
  t.equal(h.count('oauth_pending'), 0, 'the code is gone')
  t.equal(h.count('oauth_flows'), 0, 'the flow is deleted with its code')
  await resolvePending(h.deps)
  t.equal(h.tokenRequests().length, 0, 'the authorization server saw no token request')
})

t.test('client exchange without PKCE: no codeVerifier; a long-poll gets the code', async (t) => {
  const h = await harness(t)
  const f = await h.ready('plain', 'client')
  const poll = h.pending(f.state, 'wait=5')
  await untilListening(h)
  t.equal((await h.callback(q({ code: 'plain-code', state: f.state }), f.cookie)).statusCode, 200)
  const res = await poll
  t.equal(res.statusCode, 200)
  const body = res.json() as Record<string, unknown>
  t.equal(body.code, 'plain-code')
  t.notOk('codeVerifier' in body, 'no verifier for a provider without PKCE')
  t.equal((await h.pending(f.state)).statusCode, 404)
  t.equal(h.tokenRequests().length, 0)
})

t.test('client exchange: two readers at once get the code exactly once', async (t) => {
  const h = await harness(t)
  const f = await h.ready('acme', 'client')
  t.equal((await h.callback(q({ code: 'once-only', state: f.state }), f.cookie)).statusCode, 200)
  const answers = await Promise.all([h.pending(f.state), h.pending(f.state), h.pending(f.state)])
  t.same(answers.map((r) => r.statusCode).sort(), [200, 404, 404])
  t.equal(answers.filter((r) => r.body.includes('once-only')).length, 1)
})

t.test('client exchange: an uncollected code expires with the flow', async (t) => {
  const h = await harness(t)
  const f = await h.ready('acme', 'client')
  t.equal((await h.callback(q({ code: 'never-collected', state: f.state }), f.cookie)).statusCode, 200)
  h.deps.clock.advance(10 * 60 * 1000)
  const summary = await resolvePending(h.deps)
  t.equal(summary.expired, 1)
  t.equal(h.count('oauth_pending'), 0, 'the code is deleted')
  const res = await h.pending(f.state)
  t.equal(res.statusCode, 200)
  t.match(res.json(), { status: 'expired', error: 'expired' })
  t.notOk(res.body.includes('never-collected'))
  t.equal(h.tokenRequests().length, 0)
})

t.test('closing the server answers parked long-polls at once, so a stop is never held up by ?wait=', async (t) => {
  const h = await harness(t)
  const f = await h.createFlow()
  const poll = h.pending(f.state, 'wait=60')
  await untilListening(h)
  await h.app.close()
  // A hang guard, not a timing: unfixed, the poll would sit out its full 60 s.
  const stillWaiting = new Promise<'still waiting'>((resolve) => setTimeout(() => resolve('still waiting'), 15_000).unref())
  const res = await Promise.race([poll, stillWaiting])
  if (res === 'still waiting') return t.fail('the long-poll was still parked after the server closed')
  t.equal(res.statusCode, 200)
  t.same(res.json().status, 'waiting', 'it answers with the status it has')
  t.equal(h.deps.events.listenerCount('flow-changed'), 0, 'no listener is left behind')
})
