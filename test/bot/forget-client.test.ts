// The chat's /disconnect for a connection made by URL, against the loopback Bot API server, the SDK
// MCP server and oidc-provider with RFC 7592 client management: the confirmation offers deleting
// latchkey's registered client, and tapping it deletes the client at the server too.
import t from 'tap'
import { buttons } from '../support/bot-api-server.js'
import { CookieBrowser } from '../support/cookie-browser.js'
import { mcpWorld } from '../support/mcp-world.js'
import { USER, botWorld, editOf, linkMessageIdOf, say, until } from './harness.js'

t.test('/disconnect of a discovered connection: a button deletes latchkey’s client at the server', async (t) => {
  const w = await botWorld(t)
  const { mcp, as } = await mcpWorld(t, { registrationManagement: true })
  const id = `127-0-0-1-${new URL(mcp.url).port}`
  const mcpHost = new URL(mcp.url).host
  const asHost = new URL(as.issuer).host
  const link = await say(w, `connect ${mcp.url}`, /waiting for you to approve/)
  const linkId = await until(() => {
    try {
      return linkMessageIdOf(w, link)
    } catch {
      return 0
    }
  })
  await new CookieBrowser().get(String(buttons(link.payload)[0]?.url))
  await editOf(w, linkId, /^✅/, 60_000)
  const token = w.daemon.deps.db.prepare('SELECT registration_access_token FROM client_management').pluck().get() as string
  t.ok(token, 'RFC 7592 management stored')

  const question = await say(w, `/disconnect ${id}`, /^Disconnect /)
  t.equal(question.payload.text, `Disconnect ${mcpHost}? Its tokens are removed from auth.json and revoked at ${mcpHost}.`)
  t.same(
    buttons(question.payload).map((b) => [b.text, b.callback_data]),
    [
      ['Disconnect', `d:y:${id}`],
      [`Disconnect and delete latchkey's client at ${asHost}`, `d:c:${id}`],
      ['Cancel', `d:n:${id}`],
    ],
  )
  const questionId = [...w.tg.messages.values()].find((m) => m.fromBot && m.text.startsWith(`Disconnect ${mcpHost}?`))?.messageId as number
  w.tg.userTaps(USER, questionId, `d:c:${id}`)
  const done = await editOf(w, questionId, /disconnected/)
  t.equal(done.payload.text, `${mcpHost} disconnected: tokens removed from auth.json; revoked at ${mcpHost}; latchkey's registered client deleted here and at ${asHost}.`)
  t.same(as.deletions.map((d) => d.status), [204], 'deleted at the server')
  t.equal(w.daemon.deps.db.prepare('SELECT COUNT(*) FROM registered_clients').pluck().get(), 0, 'and here')
  t.notOk(w.tg.requests.some((r) => r.raw.includes(token)), 'the registration access token never reaches the chat')

  // Reconnected, the plain Disconnect keeps the (new) client.
  const again = await say(w, `connect ${mcp.url}`, /waiting for you to approve/)
  const againId = await until(() => {
    try {
      return linkMessageIdOf(w, again)
    } catch {
      return 0
    }
  })
  await new CookieBrowser().get(String(buttons(again.payload)[0]?.url))
  await editOf(w, againId, /^✅/, 60_000)
  await say(w, `/disconnect ${id}`, /^Disconnect /)
  const secondId = [...w.tg.messages.values()].filter((m) => m.fromBot && m.text.startsWith(`Disconnect ${mcpHost}?`)).at(-1)?.messageId as number
  w.tg.userTaps(USER, secondId, `d:y:${id}`)
  t.equal((await editOf(w, secondId, /disconnected/)).payload.text, `${mcpHost} disconnected: tokens removed from auth.json; revoked at ${mcpHost}.`)
  t.equal(w.daemon.deps.db.prepare('SELECT COUNT(*) FROM registered_clients').pluck().get(), 1, 'kept when not asked')
  t.equal(as.deletions.length, 1)
})
