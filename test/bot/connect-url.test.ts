// "connect <url>" in the chat, against real peers: the loopback Bot API server, an MCP server
// built with the MCP SDK, oidc-provider with dynamic registration and resource indicators, and
// chromium approving. Then `latchkey token <id>` (a real process) gives a token the MCP server
// accepts; after the 5 s access token ages out, a refresh (with `resource`) gives another.
import { execFile } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { promisify } from 'node:util'
import t from 'tap'
import { buttons } from '../support/bot-api-server.js'
import { BIN } from '../support/child-daemon.js'
import { chromiumAvailable, launchChromium } from '../support/chromium.js'
import { CookieBrowser } from '../support/cookie-browser.js'
import { tempDir } from '../support/deps.js'
import { listTools } from '../support/mcp-client.js'
import { mcpWorld } from '../support/mcp-world.js'
import { codeExchanges } from '../support/oidc-server.js'
import { botWorld, editOf, linkMessageIdOf, say, until } from './harness.js'

const run = promisify(execFile)

t.test('connect <mcp url> from the chat → link naming the sign-in host → approve → ✅ → latchkey token works, and again after a refresh', async (t) => {
  const w = await botWorld(t)
  const { mcp, as } = await mcpWorld(t)
  const asHost = new URL(as.issuer).host
  const mcpHost = new URL(mcp.url).host
  const id = `127-0-0-1-${new URL(mcp.url).port}`

  const link = await say(w, `connect ${mcp.url}`, /waiting for you to approve/)
  t.equal(
    link.payload.text,
    `${mcpHost}: waiting for you to approve… (expires in 10 min)\n\nYou'll sign in at ${asHost} for ${mcpHost}. This connection's id is ${id}.`,
    'the message names where the user signs in, and for what',
  )
  t.equal(as.registrations.length, 1, 'registered by DCR, no client-id dialog')
  const [open] = buttons(link.payload)
  const linkMessageId = await until(() => {
    try {
      return linkMessageIdOf(w, link)
    } catch {
      return 0 // the server records the message just after answering
    }
  })

  if (chromiumAvailable()) {
    const browser = await launchChromium()
    t.teardown(() => browser.close())
    const page = await (await browser.newContext()).newPage()
    await page.goto(String(open?.url))
    await page.waitForURL(/\/oauth\/callback\?/)
    t.match(await page.locator('body').innerText(), /(connected|approved)/, 'chromium lands on the callback page')
  } else {
    t.comment('chromium not installed: following the link with the cookie browser')
    await new CookieBrowser().get(String(open?.url))
  }
  const edit = await editOf(w, linkMessageId, /^✅/, 60_000)
  // oidc-provider's token for a resource carries only that resource's scopes: granted vs requested, as for built-ins.
  t.match(edit.payload.text, new RegExp(`^✅ ${mcpHost} connected \\(scopes: mcp:tools\\)\\s+⚠️ not granted: offline_access$`))
  t.equal(codeExchanges(as)[0]?.params.resource, mcp.url, 'the code exchange names the resource')

  // `latchkey token <id>` as a real process, on the daemon's data: the discovered provider comes from SQLite.
  const dir = tempDir(t)
  const configPath = join(dir, 'config.json')
  writeFileSync(configPath, JSON.stringify({ dataDir: w.config.dataDir, authFile: w.config.authFile, logLevel: 'warn' }))
  const token = async (minValidity: number) =>
    (await run(process.execPath, [BIN, 'token', id, '--min-validity', String(minValidity)], { env: { ...process.env, LATCHKEY_CONFIG: configPath, HOME: dir } })).stdout.trim()
  const listed = async () => {
    // A token valid for most of its 5 s; after a 401 (aged out on a busy machine) a fresh one, at most 3 times.
    for (let attempt = 1; ; attempt++) {
      try {
        return await listTools(mcp.url, await token(4))
      } catch (err) {
        if ((err as { code?: number }).code !== 401 || attempt === 3) throw err
      }
    }
  }
  t.same(await listed(), ['echo', 'whoami'], 'the token from `latchkey token` works against the MCP server')
  const before = as.tokenRequests.filter((r) => r.grantType === 'refresh_token').length
  // Ask for more validity than a 5 s token has: the CLI must refresh, naming the resource.
  const refreshed = await token(60)
  t.ok(refreshed.length > 20)
  const refreshes = as.tokenRequests.filter((r) => r.grantType === 'refresh_token')
  t.ok(refreshes.length > before, 'a refresh happened')
  t.ok(refreshes.every((r) => r.params.resource === mcp.url), 'every refresh carries resource')
  t.same(await listed(), ['echo', 'whoami'], 'still works after the refresh')
  t.notOk(mcp.checks.some((c) => !c.ok && c.reason !== 'ERR_JWT_EXPIRED'), 'no token refused for any reason but age')

  // Listed like the rest: /connections, /providers, and `latchkey providers [--json]` (real processes).
  const connections = await say(w, '/connections', new RegExp(mcpHost.replace(/\./g, '\\.')))
  t.match(connections.payload.text, new RegExp(`^✅ ${mcpHost}: token expires .*, last refresh`, 'm'))
  const providers = await say(w, '/providers', new RegExp(`^${id}:`, 'm'))
  t.match(providers.payload.text, new RegExp(`^${id}: ${mcpHost}, connected \\(from ${mcp.url}\\)$`, 'm'))
  const cli = async (...args: string[]) => (await run(process.execPath, [BIN, ...args], { env: { ...process.env, LATCHKEY_CONFIG: configPath, HOME: dir } })).stdout
  const rows = JSON.parse(await cli('providers', '--json')) as Record<string, unknown>[]
  t.same(
    rows.find((r) => r.id === id),
    { id, name: mcpHost, hasClientId: true, hasClientSecret: true, usePkce: true, clientAuth: 'basic', redirectMode: 'callback', revocable: true, source: 'discovered', url: mcp.url },
  )
  t.equal(rows.find((r) => r.id === 'github')?.source, 'built-in')
  t.match(await cli('providers'), new RegExp(`^${id} +${mcpHost} +client id \\+ secret +PKCE, auth basic, discovered from ${mcp.url}$`, 'm'))
})

t.test('connect <url> in the chat: a refused server gets a plain message and nothing is stored', async (t) => {
  const w = await botWorld(t)
  const { mcp } = await mcpWorld(t, { resourceOverride: 'https://elsewhere.example.com/mcp' })
  const reply = await say(w, `connect ${mcp.url}`, /^❌/)
  t.match(reply.payload.text, /protected-resource metadata is for another resource/)
  const n = (w.daemon.deps.db.prepare('SELECT COUNT(*) AS n FROM discovered_providers').get() as { n: number }).n
  t.equal(n, 0)
})

t.test('connect <url> in the chat: no dynamic registration → the client-id dialog, then the link', async (t) => {
  const w = await botWorld(t)
  const { mcp, as } = await mcpWorld(t, { registration: false })
  const id = `127-0-0-1-${new URL(mcp.url).port}`
  const ask = await say(w, `connect ${mcp.url}`, /Send me the app's client id/)
  t.match(ask.payload.text, new RegExp(`signs in at ${new URL(as.issuer).host}, which does not register apps automatically`))
  t.match(ask.payload.text, w.config.redirectUri)
  t.match(ask.payload.text, `This connection's id is ${id}`)
  await say(w, 'my-client-id', /Now send the client secret/)
  w.tg.userSays({ id: 4242, first_name: 'Ada' }, 'my-client-secret-0123456789')
  const link = await w.tg.waitFor((r) => r.method === 'sendMessage' && /waiting for you to approve/.test(String(r.payload.text)), { what: 'the link' })
  const url = new URL(String(buttons(link.payload)[0]?.url))
  t.match(url.pathname, /^\/oauth\/start\//)
})
