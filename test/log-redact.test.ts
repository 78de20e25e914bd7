// The request line goes through flatLineLogger (no `*.` redaction paths, which cost most of a
// line): it must still hide every secret key it could carry, and the request's own headers.
import t from 'tap'
import { createLogger, flatLineLogger } from '../src/log.js'
import { logCapture } from './support/deps.js'

const CANARY = 'CANARY-SECRET-5d1e'

t.test('a flat line hides the same top-level keys and request headers as the full logger', async (t) => {
  const logs = logCapture()
  const full = createLogger('info', logs.stream)
  const flat = flatLineLogger(full)
  const keys = ['access_token', 'refresh_token', 'id_token', 'client_secret', 'clientSecret', 'code', 'code_verifier', 'codeVerifier', 'apiToken', 'token', 'access', 'refresh']
  const fields = Object.fromEntries(keys.map((k) => [k, CANARY]))
  const req = { method: 'GET', path: '/oauth/callback', headers: { authorization: `Bearer ${CANARY}`, cookie: `latchkey-abc=${CANARY}` } }
  full.info({ ...fields, req }, 'full')
  flat.info({ ...fields, req, outcome: 'callback received', statusCode: 200 }, 'flat')
  t.notMatch(logs.text(), CANARY, 'no canary in either line')
  const [fullLine, flatLine] = logs.lines()
  t.match(flatLine, { msg: 'flat', outcome: 'callback received', statusCode: 200, code: '[REDACTED]', req: { method: 'GET', headers: { authorization: '[REDACTED]', cookie: '[REDACTED]' } } })
  for (const k of keys) t.equal(flatLine?.[k], fullLine?.[k], `${k}: as the full logger writes it`)
})

t.test('control: the full logger still hides nested keys, which a flat line never has', async (t) => {
  const logs = logCapture()
  createLogger('info', logs.stream).info({ response: { access_token: CANARY } }, 'nested')
  t.notMatch(logs.text(), CANARY)
  t.match(logs.lines()[0], { response: { access_token: '[REDACTED]' } })
})
