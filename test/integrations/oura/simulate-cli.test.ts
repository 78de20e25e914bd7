// `latchkey simulate oura` as a user runs it: the built bin as a child process prints its URLs and
// a config snippet latchkey accepts; the printed URLs carry a whole OAuth round (consent page,
// code, token, single-use refresh) and a data request; SIGTERM stops it with exit 0.
import { spawn } from 'node:child_process'
import t from 'tap'
import { parseConfig } from '../../../src/config.js'
import { OURA_SIMULATOR_CLIENT } from '../../../src/integrations/oura/cli-simulate.js'
import { BIN } from '../../support/child-daemon.js'
import { tempDir } from '../../support/deps.js'
import { until } from '../../support/until.js'

const REDIRECT = 'http://127.0.0.1:8400/oauth/callback'

const form = (fields: Record<string, string>) => ({ method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(fields).toString() })

t.test('prints its URLs and a snippet latchkey accepts; the URLs do OAuth and serve data; SIGTERM stops it', async (t) => {
  const dir = tempDir(t)
  const proc = spawn(process.execPath, [BIN, 'simulate', 'oura', '--redirect-uri', REDIRECT], { env: { PATH: process.env.PATH ?? '', HOME: dir, LATCHKEY_CONFIG: `${dir}/missing.json` }, stdio: ['ignore', 'pipe', 'pipe'] })
  t.teardown(() => void (proc.exitCode === null && proc.kill('SIGKILL')))
  let stdout = ''
  proc.stdout.on('data', (c) => (stdout += String(c)))
  const exited = new Promise<number | null>((resolve) => proc.on('exit', (code) => resolve(code)))
  await new Promise<void>((resolve, reject) => {
    proc.stdout.on('data', () => stdout.includes('Ctrl-C stops the simulator.') && resolve())
    void exited.then((code) => reject(new Error(`exited ${code} before its banner: ${stdout}`)))
  })

  const url = /Oura simulator listening on (http:\/\/127\.0\.0\.1:\d+) \(loopback only\)/.exec(stdout)?.[1]
  t.ok(url, 'prints where it listens, on loopback')
  t.match(stdout, `Authorize: ${url}/oauth/authorize`)
  t.match(stdout, `Token:     ${url}/oauth/token`)
  t.match(stdout, /sleeper-ada, no-heartrate-bo, forgetful-cy/, 'names the sandbox users')
  const snippet = JSON.parse(stdout.slice(stdout.indexOf('{'), stdout.lastIndexOf('}') + 1)) as { providers: Record<string, Record<string, string>> }
  const config = parseConfig({ ...snippet, dataDir: `${dir}/data`, authFile: `${dir}/auth.json` }, { HOME: dir })
  const entry = config.providers['oura-sandbox']
  t.equal(entry?.apiBaseUrl, url, "latchkey's config schema accepts the snippet")
  t.equal(entry?.clientId, OURA_SIMULATOR_CLIENT.clientId)

  // The consent page lists the users; following one redirects back with a code and the state.
  const authorize = new URL(String(entry?.authorizationUrl))
  for (const [k, v] of Object.entries({ client_id: OURA_SIMULATOR_CLIENT.clientId, redirect_uri: REDIRECT, response_type: 'code', scope: 'daily personal', state: 'st-1' })) authorize.searchParams.set(k, v)
  const page = await fetch(authorize)
  const html = await page.text()
  t.equal(page.status, 200)
  const link = /href="([^"]*user=no-heartrate-bo[^"]*)"/.exec(html)?.[1]?.replaceAll('&amp;', '&')
  t.ok(link, 'a link per sandbox user')
  const approved = await fetch(new URL(String(link), url), { redirect: 'manual' })
  t.equal(approved.status, 302)
  const back = new URL(String(approved.headers.get('location')))
  t.equal(`${back.origin}${back.pathname}`, REDIRECT)
  t.equal(back.searchParams.get('state'), 'st-1')
  const wrongRedirect = new URL(authorize)
  wrongRedirect.searchParams.set('redirect_uri', 'http://127.0.0.1:9/elsewhere')
  t.equal((await fetch(wrongRedirect)).status, 400, 'an unregistered redirect URI is refused')

  const client = { client_id: OURA_SIMULATOR_CLIENT.clientId, client_secret: OURA_SIMULATOR_CLIENT.clientSecret }
  const code = String(back.searchParams.get('code'))
  const tokens = await (await fetch(String(entry?.tokenUrl), form({ grant_type: 'authorization_code', code, redirect_uri: REDIRECT, ...client }))).json() as Record<string, string>
  t.equal(tokens.scope, 'personal daily', "the granted scopes: what was asked and the user allows")
  t.equal((await fetch(String(entry?.tokenUrl), form({ grant_type: 'authorization_code', code, redirect_uri: REDIRECT, ...client }))).status, 400, 'a code is single-use')
  const refreshed = await fetch(String(entry?.tokenUrl), form({ grant_type: 'refresh_token', refresh_token: String(tokens.refresh_token), ...client }))
  t.equal(refreshed.status, 200)
  t.equal((await fetch(String(entry?.tokenUrl), form({ grant_type: 'refresh_token', refresh_token: String(tokens.refresh_token), ...client }))).status, 400, 'a refresh token is single-use')
  const access = ((await refreshed.json()) as Record<string, string>).access_token
  const today = new Date().toISOString().slice(0, 10)
  const data = await fetch(`${url}/v2/usercollection/daily_sleep?start_date=${today}&end_date=${today}`, { headers: { authorization: `Bearer ${access}` } })
  t.equal(data.status, 200)
  t.equal(((await data.json()) as { data: unknown[] }).data.length, 1, "today's daily_sleep")
  await until(() => stdout.includes('GET /v2/usercollection/daily_sleep'))
  t.match(stdout, 'GET /v2/usercollection/daily_sleep 200', 'requests are logged without their query')
  t.notMatch(stdout, access, 'no token in the log')

  proc.kill('SIGTERM')
  t.equal(await exited, 0, 'exits 0 when stopped')
  await t.rejects(fetch(`${url}/oauth/authorize`), 'and no longer listens')
})
