// GET /oauth/callback against oauth-security.md §1.B and the hostile-input table of §7: every
// rejected case gets its status and page, stores nothing, emits nothing, and the fake
// authorization server sees no token request even after the resolve job runs.
import t from 'tap'
import type { LightMyRequestResponse } from 'fastify'
import { resolvePending } from '../../src/oauth/pending.js'
import { ISSUER, PAGE_HEADERS, harness, headerList, pageHeaders, q, type Harness } from './harness.js'

type Asserts = Pick<typeof t, 'equal' | 'same' | 'match' | 'notOk'>

const INVALID = /This link is not valid/
const WRONG_BROWSER = /Open the link in the browser you approve in/
const WRONG_SERVER = /This answer did not come from [^<]+<\/title>[\s\S]*It came from another server, so nothing was stored/

/** Counts the events the callback route emits. */
function events(h: Harness): { callback: number; changed: number } {
  const seen = { callback: 0, changed: 0 }
  h.deps.events.on('callback', () => seen.callback++)
  h.deps.events.on('flow-changed', () => seen.changed++)
  return seen
}

/** What every rejected callback must look like. */
function rejected(t: Asserts, res: LightMyRequestResponse, page: RegExp, name: string): void {
  t.equal(res.statusCode, 400, `${name}: 400`)
  t.match(res.body, page, `${name}: page text`)
  t.same(pageHeaders(res), PAGE_HEADERS, `${name}: page headers`)
  t.match(res.headers['content-type'], /^text\/html; charset=utf-8/, `${name}: html`)
  t.same(headerList(res, 'set-cookie'), [], `${name}: no cookie set`)
  t.equal(res.headers.location, undefined, `${name}: no redirect`)
}

/** Nothing stored, nothing queued for the chat, no token request even after the resolve job. */
async function nothingHappened(t: Asserts, h: Harness, state: string, seen: { callback: number; changed: number }): Promise<void> {
  t.equal(h.status(state), 'waiting', 'flow status unchanged')
  t.equal(h.count('oauth_pending'), 0, 'no oauth_pending row')
  t.equal(h.count('outbox'), 0, 'nothing queued for the chat')
  t.same(seen, { callback: 0, changed: 0 }, 'no event emitted')
  await resolvePending(h.deps)
  t.equal(h.tokenRequests().length, 0, 'the authorization server saw no token request')
  t.equal(h.status(state), 'waiting')
}

t.test('malformed queries: 400, nothing stored', async (t) => {
  const h = await harness(t)
  const f = await h.ready()
  const other = await h.ready()
  const S = f.state
  const seen = events(h)
  const cases: Record<string, string> = {
    'no query': '',
    'empty query': '?'.slice(1),
    'only state': q({ state: S }),
    'only code': q({ code: 'c1' }),
    'code and error': `code=c1&error=access_denied&state=${S}`,
    'code, error and description': `code=c1&error=server_error&error_description=x&state=${S}`,
    'repeated code': `code=a&code=b&state=${S}`,
    'repeated identical code': `code=a&code=a&state=${S}`,
    'repeated state': `code=a&state=${S}&state=${other.state}`,
    'repeated identical state': `code=a&state=${S}&state=${S}`,
    'repeated error': `error=access_denied&error=server_error&state=${S}`,
    'repeated iss': `code=a&state=${S}&iss=x&iss=y`,
    'state[]': `code=a&state[]=${S}`,
    'state%5B%5D': `code=a&state%5B%5D=${S}`,
    'state[a]': `code=a&state[a]=${S}`,
    'state[0] and state[1]': `code=a&state[0]=${S}&state[1]=${S}`,
    'empty code': `code=&state=${S}`,
    'empty state': 'code=a&state=',
    'empty iss': `code=a&state=${S}&iss=`,
    'code 2049 chars': `code=${'c'.repeat(2049)}&state=${S}`,
    'iss 513 chars': `code=a&state=${S}&iss=${'i'.repeat(513)}`,
    'error 10 KiB': `error=${'e'.repeat(10 * 1024)}&state=${S}`,
    'code with newline': `code=a%0Ab&state=${S}`,
    'code with NUL': `code=a%00b&state=${S}`,
    'code non-ASCII': `code=%C3%A9t%C3%A9&state=${S}`,
    'state 42 chars': `code=a&state=${S.slice(0, 42)}`,
    'state 44 chars': `code=a&state=${S}A`,
    'state fullwidth A': `code=a&state=${S.slice(0, 42)}%EF%BC%A1`,
    'state Cyrillic a': `code=a&state=${S.slice(0, 42)}%D0%B0`,
    'state with %00': `code=a&state=${S.slice(0, 42)}%00`,
    'state plus %00': `code=a&state=${S}%00`,
    'state with U+202E': `code=a&state=${S.slice(0, 42)}%E2%80%AE`,
    'state with malformed %E0%A4%A': `code=a&state=${S.slice(0, 40)}%E0%A4%A`,
    'state with trailing space': `code=a&state=${S}%20`,
    'state with plus': `code=a&state=${S.slice(0, 42)}+`,
    'state base64 not base64url': `code=a&state=${S.slice(0, 42)}%2F`,
  }
  for (const [name, query] of Object.entries(cases)) {
    const res = await h.callback(query, f.cookie)
    rejected(t, res, INVALID, name)
    t.notOk(res.body.includes('ccccc'), `${name}: page does not echo the code`)
  }
  await nothingHappened(t, h, S, seen)

  // Positive control: the same state and cookie were good all along, at the largest code allowed.
  const code = 'c'.repeat(2048)
  const ok = await h.callback(q({ code, state: S }), f.cookie)
  t.equal(ok.statusCode, 200, 'a 2048-character code is accepted')
  t.notOk(ok.body.includes(code.slice(0, 32)), 'the page never contains the code')
  t.equal(h.status(S), 'exchanging')
  t.equal(h.count('oauth_pending'), 1)
  await resolvePending(h.deps)
  t.equal(h.tokenRequests().length, 1)
  t.equal(h.tokenRequests()[0]?.form.code, code)
})

t.test('unknown, expired and consumed states: identical 400 bodies, nothing stored; only the flow\'s own browser is told "expired"', async (t) => {
  const h = await harness(t)
  const used = await h.ready()
  const expiring = await h.ready()
  const first = await h.callback(q({ code: 'first', state: used.state }), used.cookie)
  t.equal(first.statusCode, 200)
  t.equal(h.count('oauth_pending'), 1)
  const seen = events(h)

  const consumed = await h.callback(q({ code: 'first', state: used.state }), used.cookie)
  const consumedOtherCode = await h.callback(q({ code: 'second', state: used.state }), used.cookie)
  const unknown = await h.callback(q({ code: 'x', state: 'B'.repeat(43) }), used.cookie)
  const unknownNoCookie = await h.callback(q({ code: 'x', state: 'C'.repeat(43) }))
  h.deps.clock.advance(10 * 60 * 1000)
  const expired = await h.callback(q({ code: 'x', state: expiring.state }))
  const expiredError = await h.callback(q({ error: 'access_denied', state: expiring.state }), used.cookie)
  const expiredOwnBrowser = await h.callback(q({ code: 'x', state: expiring.state }), expiring.cookie)

  const all = { consumed, consumedOtherCode, unknown, unknownNoCookie, expired, expiredError }
  for (const [name, res] of Object.entries(all)) rejected(t, res, INVALID, name)
  for (const [name, res] of Object.entries(all)) t.equal(res.body, consumed.body, `${name}: same body as consumed`)
  // The binding cookie proves this browser opened the flow's start link: it may know the flow expired.
  rejected(t, expiredOwnBrowser, /This link has expired/, 'expired, with the binding cookie')
  t.match(expiredOwnBrowser.body, /Sign-in links work for 10 minutes/)
  t.same(seen, { callback: 0, changed: 0 }, 'no event')
  t.equal(h.count('oauth_pending'), 1, 'still only the first code')
  t.equal(h.status(expiring.state), 'waiting', 'the expired flow is left for the resolve job')
  t.equal(h.count('outbox'), 0)

  const summary = await resolvePending(h.deps)
  t.equal(summary.expired, 1, 'the resolve job expires the stale flow')
  t.equal(h.status(expiring.state), 'expired')
  t.equal(h.tokenRequests().length, 1, 'one token request: the first code only')
  t.equal(h.tokenRequests()[0]?.form.code, 'first')
})

t.test('replayed callback: 400, and exactly one token request', async (t) => {
  const h = await harness(t)
  const f = await h.ready()
  const query = q({ code: 'replay-me', state: f.state })
  const first = await h.callback(query, f.cookie)
  t.equal(first.statusCode, 200)
  t.match(first.body, /Acme approved/)
  const clear = headerList(first, 'set-cookie')
  t.equal(clear.length, 1)
  t.match(clear[0], new RegExp(`^${f.cookie.split('=')[0]}=; Path=/; Max-Age=0`), 'the binding cookie is cleared')
  const second = await h.callback(query, f.cookie)
  rejected(t, second, INVALID, 'replay before the exchange')
  t.equal(h.count('oauth_pending'), 1)

  await resolvePending(h.deps)
  t.equal(h.status(f.state), 'connected')
  const third = await h.callback(query, f.cookie)
  rejected(t, third, INVALID, 'replay after the exchange')
  await resolvePending(h.deps)
  t.equal(h.tokenRequests().length, 1, 'exactly one token request')
  t.equal(h.count('oauth_pending'), 0)
})

t.test('two identical callbacks at once: exactly one 200', async (t) => {
  const h = await harness(t)
  const f = await h.ready()
  const query = q({ code: 'race', state: f.state })
  const results = await Promise.all([h.callback(query, f.cookie), h.callback(query, f.cookie)])
  t.same(results.map((r) => r.statusCode).sort(), [200, 400])
  t.equal(h.count('oauth_pending'), 1)
  await Promise.all([resolvePending(h.deps), resolvePending(h.deps)])
  t.equal(h.tokenRequests().length, 1)

  // Several different codes racing for one state: one wins, its code is the one exchanged.
  const g = await h.ready()
  const many = await Promise.all(['r0', 'r1', 'r2', 'r3'].map((code) => h.callback(q({ code, state: g.state }), g.cookie)))
  const winners = many.flatMap((r, i) => (r.statusCode === 200 ? [`r${i}`] : []))
  t.equal(winners.length, 1)
  t.equal(many.filter((r) => r.statusCode === 400).length, 3)
  await resolvePending(h.deps)
  t.equal(h.tokenRequests().length, 2)
  t.equal(h.tokenRequests()[1]?.form.code, winners[0])
})

t.test('binding cookie: missing or wrong → 400, nothing stored', async (t) => {
  const h = await harness(t)
  const f = await h.ready()
  const other = await h.ready()
  const name = f.cookie.split('=')[0] ?? ''
  const seen = events(h)
  const cookies: Record<string, string | undefined> = {
    missing: undefined,
    empty: '',
    'other flow\'s cookie': other.cookie,
    'right name, other state': `${name}=${other.state}`,
    'right name, empty': `${name}=`,
    'right name, state with suffix': `${name}=${f.state}x`,
    'right name, state prefix': `${name}=${f.state.slice(0, 42)}`,
    'right value, other name': `latchkey-000000000000=${f.state}`,
    'wrong first, right second': `${name}=${other.state}; ${f.cookie}`,
  }
  const query = q({ code: 'cookie-test', state: f.state })
  for (const [label, cookie] of Object.entries(cookies)) {
    const res = await h.callback(query, cookie)
    rejected(t, res, WRONG_BROWSER, label)
    t.match(res.body, /nothing was stored/)
  }
  const denied = await h.callback(q({ error: 'access_denied', state: f.state }))
  rejected(t, denied, WRONG_BROWSER, 'error response without the cookie')
  await nothingHappened(t, h, f.state, seen)

  const ok = await h.callback(query, `unrelated=1; ${f.cookie}; other=2`)
  t.equal(ok.statusCode, 200, 'the right cookie among others is accepted')
})

t.test('iss (RFC 9207) when the provider declares an issuer', async (t) => {
  const h = await harness(t)
  const f = await h.ready('issuing')
  const seen = events(h)
  const cases: Record<string, string> = {
    wrong: q({ code: 'c', state: f.state, iss: 'https://evil.example' }),
    'trailing slash': q({ code: 'c', state: f.state, iss: `${ISSUER}/` }),
    'upper case': q({ code: 'c', state: f.state, iss: ISSUER.toUpperCase() }),
    'with path': q({ code: 'c', state: f.state, iss: `${ISSUER}/x` }),
    'with default port': q({ code: 'c', state: f.state, iss: 'https://issuer.example:443' }),
    missing: q({ code: 'c', state: f.state }),
    'error with wrong iss': q({ error: 'access_denied', state: f.state, iss: 'https://evil.example' }),
    'error without iss': q({ error: 'access_denied', state: f.state }),
  }
  for (const [name, query] of Object.entries(cases)) rejected(t, await h.callback(query, f.cookie), WRONG_SERVER, name)
  await nothingHappened(t, h, f.state, seen)

  const ok = await h.callback(q({ code: 'good', state: f.state, iss: ISSUER }), f.cookie)
  t.equal(ok.statusCode, 200, 'the exact issuer is accepted')
  await resolvePending(h.deps)
  t.equal(h.tokenRequests().length, 1)
  t.equal(h.status(f.state), 'connected')
})

t.test('error=access_denied: 200 denied page, denied status, no exchange', async (t) => {
  const h = await harness(t)
  const f = await h.ready()
  const seen = events(h)
  const res = await h.callback(q({ error: 'access_denied', error_description: 'The user denied the request', state: f.state }), f.cookie)
  t.equal(res.statusCode, 200)
  t.same(pageHeaders(res), PAGE_HEADERS)
  t.match(res.body, /<title>Nothing was connected<\/title>/)
  t.match(res.body, /You did not approve access at Acme\./)
  t.match(res.body, /Acme said: “The user denied the request”/)
  t.match(res.body, /Run &quot;latchkey connect acme&quot; again/, 'a flow not started in the chat: the terminal wording')
  t.match(headerList(res, 'set-cookie')[0], /Max-Age=0/, 'the binding cookie is cleared')
  t.equal(h.status(f.state), 'denied')
  t.equal(h.count('oauth_pending'), 0, 'no code row for an error')
  t.equal(h.count('outbox'), 1, 'the user is told')
  t.equal(seen.callback, 0, 'no exchange is triggered')
  t.equal(seen.changed, 1, 'long-pollers are woken')

  const pending = await h.pending(f.state)
  t.equal(pending.statusCode, 200)
  t.match(pending.json(), { status: 'denied', provider: 'acme', error: 'access_denied' })
  await resolvePending(h.deps)
  t.equal(h.tokenRequests().length, 0)
  t.equal(h.status(f.state), 'denied')
  rejected(t, await h.callback(q({ code: 'late', state: f.state }), f.cookie), INVALID, 'a code after the denial')
})

const PLAIN_WORDS: Record<string, RegExp> = {
  invalid_scope: /Acme did not accept the permissions \(scopes\) latchkey asked for/,
  server_error: /Acme had an internal error; try again in a few minutes\./,
  temporarily_unavailable: /Acme is busy or down for maintenance; try again in a few minutes\./,
  unknown_error: /Acme reported an error it did not explain/,
}

t.test('provider error codes: RFC codes kept, anything else is unknown_error', async (t) => {
  const h = await harness(t)
  const cases: [string, string, string][] = [
    ['invalid_scope', 'invalid_scope', 'failed'],
    ['server_error', 'server_error', 'failed'],
    ['temporarily_unavailable', 'temporarily_unavailable', 'failed'],
    ['made_up_error', 'unknown_error', 'failed'],
    ['Call 555-0100 to restore your account', 'unknown_error', 'failed'],
    ['%C3%A9vil', 'unknown_error', 'failed'],
    ['bad%22quote', 'unknown_error', 'failed'],
    ['a%0D%0ASet-Cookie:%20evil=1', 'unknown_error', 'failed'],
    ['%E2%80%AEdeinied_ssecca', 'unknown_error', 'failed'],
  ]
  for (const [error, stored, status] of cases) {
    const f = await h.ready()
    const res = await h.callback(`error=${error.includes('%') ? error : encodeURIComponent(error)}&state=${f.state}`, f.cookie)
    t.equal(res.statusCode, 200, `${error}: 200`)
    t.same(pageHeaders(res), PAGE_HEADERS)
    t.match(res.body, /<h1>Acme was not connected<\/h1>/, `${error}: failure page`)
    t.match(res.body, PLAIN_WORDS[stored] as RegExp, `${error}: in plain words`)
    t.match(res.body, new RegExp(`Error code: ${stored}<`), `${error}: the code in small print`)
    t.equal(h.status(f.state), status, `${error}: status`)
    const pending = (await h.pending(f.state)).json() as { status: string; error?: string }
    t.equal(pending.error, stored, `${error}: stored as ${stored}`)
    if (stored === 'unknown_error') t.notOk(res.body.includes(decodeURIComponent(error.replace(/%0D%0A/g, ''))), `${error}: not shown on the page`)
  }
  t.equal(h.count('oauth_pending'), 0)
  await resolvePending(h.deps)
  t.equal(h.tokenRequests().length, 0)
})

t.test('error_description: escaped, truncated, no header injection', async (t) => {
  const h = await harness(t)
  const send = async (description: string) => {
    const f = await h.ready()
    const res = await h.callback(q({ error: 'access_denied', error_description: description, state: f.state }), f.cookie)
    t.equal(res.statusCode, 200)
    t.same(pageHeaders(res), PAGE_HEADERS)
    t.notOk(/<script/i.test(res.body), 'no raw <script')
    t.notOk(/<img/i.test(res.body), 'no raw <img')
    t.notOk(/<\/title>.*<\/title>/s.test(res.body), 'the title is not closed early')
    return res
  }

  const script = await send('<script>alert(1)</script>')
  t.match(script.body, /&lt;script&gt;alert\(1\)&lt;\/script&gt;/, 'shown escaped')

  const img = await send('</title><img src=x onerror=alert(1)>')
  t.match(img.body, /&lt;\/title&gt;&lt;img src=x onerror=alert\(1\)&gt;/)

  const big = await send('A'.repeat(10 * 1024))
  t.notOk(big.body.includes('A'.repeat(201)), 'truncated to about 200 characters')
  t.match(big.body, /A{150,}…/, 'truncation is marked')
  t.ok(big.body.length < 3000, `small page (${big.body.length} bytes)`)

  const crlf = await send('x\r\nSet-Cookie: evil=1\r\nX-Evil: 1')
  const cookies = headerList(crlf, 'set-cookie')
  t.equal(cookies.length, 1, 'only the cookie-clearing header')
  t.notOk(cookies.some((c) => c.includes('evil')))
  t.equal(crlf.headers['x-evil'], undefined)
  t.notOk(Object.keys(crlf.headers).some((k) => k.includes('evil')))
  t.notOk(/\r|\n(?=Set-Cookie)/.test(crlf.body), 'no CR/LF kept in the text')

  const hidden = await send('ok\u202egnp.exe \u0000 \u200b')
  t.notOk(/[\u202e\u0000\u200b]/.test(hidden.body), 'control and bidi characters dropped')

  t.equal(h.count('oauth_pending'), 0)
  await resolvePending(h.deps)
  t.equal(h.tokenRequests().length, 0)
})

t.test('only GET: POST, PUT, DELETE, PATCH, HEAD → 405; HEAD does not consume the state', async (t) => {
  const h = await harness(t)
  const f = await h.ready()
  const seen = events(h)
  const query = q({ code: 'method', state: f.state })
  for (const method of ['POST', 'PUT', 'DELETE', 'PATCH', 'HEAD', 'OPTIONS'] as const) {
    const res = await h.inject({ method, url: `/oauth/callback?${query}`, headers: { cookie: f.cookie } })
    t.equal(res.statusCode, 405, method)
    t.equal(res.headers.allow, 'GET', `${method}: Allow: GET`)
    t.same(headerList(res, 'set-cookie'), [], `${method}: no cookie`)
  }
  // What a form_post response or a hostile page would send: a urlencoded (or JSON) body.
  const bodies: [string, string, string][] = [
    ['POST', 'application/x-www-form-urlencoded', query],
    ['PUT', 'application/x-www-form-urlencoded', query],
    ['POST', 'application/json', JSON.stringify({ code: 'method', state: f.state })],
    ['POST', 'text/plain', query],
  ]
  for (const [method, type, payload] of bodies) {
    const res = await h.inject({ method: method as 'POST' | 'PUT', url: `/oauth/callback?${query}`, headers: { cookie: f.cookie, 'content-type': type }, payload })
    t.equal(res.statusCode, 405, `${method} with a ${type} body: 405`)
    t.equal(res.headers.allow, 'GET', `${method} with a ${type} body: Allow: GET`)
  }
  await nothingHappened(t, h, f.state, seen)
  const ok = await h.callback(query, f.cookie)
  t.equal(ok.statusCode, 200, 'GET still works after HEAD and POST')
})

t.test('success page: headers, text, never the code', async (t) => {
  const CODE = 'successcode-CANARY-77e1'
  const h = await harness(t)
  const f = await h.ready()
  const seen = events(h)
  const res = await h.callback(q({ code: CODE, state: f.state }), f.cookie)
  t.equal(res.statusCode, 200)
  t.same(pageHeaders(res), PAGE_HEADERS)
  t.match(res.headers['content-type'], /^text\/html; charset=utf-8/)
  t.match(res.body, /<title>Acme approved<\/title>/)
  t.match(res.body, /your terminal will confirm it\. You can close this tab\./)
  t.notOk(res.body.includes(CODE), 'no code in the page')
  t.notOk(res.body.includes(f.state), 'no state in the page')
  t.notOk(/<script|<link|<img|src=|href=/i.test(res.body), 'self-contained: no scripts or external resources')
  t.same(seen, { callback: 1, changed: 1 }, 'one callback event for the resolve job')
  t.equal(h.count('oauth_pending'), 1)
  const row = h.deps.db.prepare('SELECT code, received_at AS receivedAt FROM oauth_pending WHERE state = ?').get(f.state)
  t.same(row, { code: CODE, receivedAt: h.deps.clock.now() })
  t.equal(h.tokenRequests().length, 0, 'the callback itself never exchanges the code')
})

t.test('the page waits for the exchange when the resolve job is quick', async (t) => {
  const h = await harness(t, { callbackWaitMs: 10_000 })
  // Plays the scheduler: run the job on each callback event, then forward its changes.
  h.deps.events.on('callback', () => {
    void resolvePending(h.deps).then((s) => s.changedStates.forEach((state) => h.deps.events.emit('flow-changed', state)))
  })
  const f = await h.ready()
  const res = await h.callback(q({ code: 'quick', state: f.state }), f.cookie)
  t.equal(res.statusCode, 200)
  t.match(res.body, /<title>Acme connected<\/title>/)
  t.match(res.body, /Your terminal has the confirmation\. You can close this tab\./)
  t.equal(h.tokenRequests().length, 1)

  const failing = await harness(t, { callbackWaitMs: 10_000, token: () => ({ status: 400, json: { error: 'invalid_grant' } }) })
  failing.deps.events.on('callback', () => {
    void resolvePending(failing.deps).then((s) => s.changedStates.forEach((state) => failing.deps.events.emit('flow-changed', state)))
  })
  const ff = await failing.ready()
  const bad = await failing.callback(q({ code: 'refused', state: ff.state }), ff.cookie)
  t.equal(bad.statusCode, 200)
  t.match(bad.body, /<h1>Acme was not connected<\/h1>/)
  t.match(bad.body, /did not accept the authorization code/)
  t.equal(failing.status(ff.state), 'failed')
  t.equal(failing.tokenRequests().length, 1, 'one token request, not retried')
})
