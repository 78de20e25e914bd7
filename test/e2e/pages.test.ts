// The pages a phone shows (chromium at 390 × 844): a flow started in the chat, approved and
// denied at the provider (oidc-provider), an expired start link, `/` and an unknown path. Each
// page's text, its "Back to Telegram" link, the stylesheet really applied (computed style: the
// CSP hash lets it in) and no CSP violation in the console; screenshots for a person to look at.
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import type { Page } from 'playwright-core'
import { buttons } from '../support/bot-api-server.js'
import { chromiumAvailable, launchChromium } from '../support/chromium.js'
import { USER, botWorld, connectWithCredentials, type BotWorld } from '../bot/harness.js'

const PHONE = { width: 390, height: 844 }
const shots = process.env.LATCHKEY_SCREENSHOTS ?? mkdtempSync(join(tmpdir(), 'latchkey-pages-'))

interface Seen {
  text: string
  csp: string[]
  style: { background: string; radius: string; h1Size: string; icon: string; bodyBackground: string }
  back: string | null
}

/** What the page shows and how it is styled, after loading. */
async function look(page: Page, name: string, violations: string[]): Promise<Seen> {
  await page.screenshot({ path: join(shots, `${name}.png`) })
  // Evaluated in the page (a string: this project's types have no DOM).
  const css = (selector: string, property: string) => page.evaluate<string>(`getComputedStyle(document.querySelector(${JSON.stringify(selector)})).${property}`)
  const style = {
    background: await css('main', 'backgroundColor'),
    radius: await css('main', 'borderTopLeftRadius'),
    h1Size: await css('h1', 'fontSize'),
    icon: await css('.icon', 'color'),
    bodyBackground: await css('body', 'backgroundColor'),
  }
  const back = await page.locator('a.button').getAttribute('href').catch(() => null)
  return { text: await page.locator('body').innerText(), csp: [...violations], style, back }
}

t.test('pages at 390 × 844: chat flows with a way back, expired, home and unknown', { skip: chromiumAvailable() ? false : 'Debian chromium is not installed (/usr/bin/chromium)' }, async (t) => {
  const w: BotWorld = await botWorld(t)
  const browser = await launchChromium()
  t.teardown(() => browser.close())
  const context = await browser.newContext({ viewport: PHONE, deviceScaleFactor: 2, isMobile: true, hasTouch: true })
  const page = await context.newPage()
  const violations: string[] = []
  page.on('console', (m) => {
    if (/Content Security Policy|Refused to/i.test(m.text())) violations.push(m.text())
  })
  const styled = (seen: Seen, name: string, tone: string) => {
    t.same(seen.csp, [], `${name}: no CSP violation in the console`)
    t.equal(seen.style.background, 'rgb(255, 255, 255)', `${name}: the card is styled (the CSP hash admits the stylesheet)`)
    t.equal(seen.style.radius, '16px', `${name}: rounded card`)
    t.equal(seen.style.h1Size, '24px', `${name}: heading size from the stylesheet`)
    t.equal(seen.style.bodyBackground, 'rgb(246, 248, 250)', `${name}: page background`)
    t.equal(seen.style.icon, tone, `${name}: icon colour`)
  }
  const GREEN = 'rgb(26, 127, 55)'
  const RED = 'rgb(207, 34, 46)'
  const AMBER = 'rgb(154, 103, 0)'
  const BLUE = 'rgb(9, 105, 218)'

  // Approved: the chat's link → oidc-provider → the callback page.
  const { link } = await connectWithCredentials(w)
  await page.goto(buttons(link.payload)[0]?.url as string)
  await page.waitForURL(/\/oauth\/callback\?/)
  await page.waitForSelector('h1')
  const connected = await look(page, 'connected', violations)
  t.match(connected.text, /^Acme (connected|approved)\n/, 'heading: the provider and the outcome')
  t.match(connected.text, /The chat has the confirmation\. You can close this tab\.|the chat will confirm it/, 'worded for the chat')
  t.notMatch(connected.text, /terminal/)
  t.equal(connected.back, 'https://t.me/latchkey_test_bot', 'Back to Telegram, to the bot')
  t.match(connected.text, /Back to Telegram/)
  t.equal(await page.locator('svg.icon').getAttribute('aria-label'), '✓', 'a clear ✓')
  styled(connected, 'connected', GREEN)

  // Denied at the provider.
  w.as.setDecision('deny')
  const from = w.tg.requests.length
  w.tg.userSays(USER, 'connect acme')
  const second = await w.tg.waitFor((r) => r.method === 'sendMessage' && /waiting for you to approve/.test(String(r.payload.text)), { from, what: 'the second link' })
  await page.goto(buttons(second.payload)[0]?.url as string)
  await page.waitForURL(/\/oauth\/callback\?/)
  await page.waitForSelector('h1')
  const denied = await look(page, 'denied', violations)
  t.match(denied.text, /^Nothing was connected\n+You did not approve access at Acme\.\n+Send "connect acme" in the chat for a new link\./)
  t.equal(await page.locator('svg.icon').getAttribute('aria-label'), '✗', 'a clear ✗')
  t.equal(denied.back, 'https://t.me/latchkey_test_bot')
  styled(denied, 'denied', RED)

  // A start link opened after its 10 minutes.
  w.as.setDecision('approve')
  const from3 = w.tg.requests.length
  w.tg.userSays(USER, 'connect acme')
  const third = await w.tg.waitFor((r) => r.method === 'sendMessage' && /waiting for you to approve/.test(String(r.payload.text)), { from: from3, what: 'the third link' })
  const startUrl = buttons(third.payload)[0]?.url as string
  // Ten minutes pass (the daemon runs on the system clock): the flow is moved back in time.
  w.daemon.deps.db.prepare('UPDATE oauth_flows SET created_at = created_at - 660000, expires_at = expires_at - 660000 WHERE id = ?').run(startUrl.split('/').at(-1))
  const res = await page.goto(startUrl)
  t.equal(res?.status(), 400)
  const expired = await look(page, 'expired', violations)
  t.match(expired.text, /^This link has expired\n+Sign-in links work for 10 minutes/)
  t.match(expired.text, /Send "connect acme" in the chat for a new link\./)
  t.equal(await page.locator('svg.icon').getAttribute('aria-label'), 'expired')
  t.equal(expired.back, 'https://t.me/latchkey_test_bot')
  styled(expired, 'expired', AMBER)

  // The address bar, not an API: `/` and an unknown path are pages for a browser, JSON for programs.
  const base = w.config.publicUrl
  t.equal((await page.goto(`${base}/`))?.status(), 200)
  const home = await look(page, 'home', violations)
  t.match(home.text, /^latchkey is running\n/)
  styled(home, 'home', BLUE)
  t.equal((await page.goto(`${base}/nothing/here`))?.status(), 404)
  const missing = await look(page, 'not-found', violations)
  t.match(missing.text, /^Nothing here\n/)
  styled(missing, 'not-found', RED)
  const api = await fetch(`${base}/nothing/here`, { headers: { accept: 'application/json' } })
  t.equal(api.status, 404)
  t.same(await api.json(), { error: 'not_found', message: 'no such route' }, 'programs keep their JSON 404')
  const curl = await fetch(`${base}/`, { headers: { accept: '*/*' } })
  t.match(curl.headers.get('content-type'), /^application\/json/, 'a wildcard Accept gets JSON')
  t.comment(`screenshots in ${shots}`)
})
