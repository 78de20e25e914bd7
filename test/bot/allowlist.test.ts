// Only allowed user ids, in their private chat, are served: everything else gets no reply and
// changes nothing (oauth-security.md T1).
import t from 'tap'
import { BOT_USER } from '../support/bot-api-server.js'
import { STRANGER, USER, botWorld, say } from './harness.js'

t.test('other users, groups, channels, edited messages and foreign taps are ignored', async (t) => {
  const w = await botWorld(t)
  const from = w.tg.requests.length
  const now = Math.floor(Date.now() / 1000)
  w.tg.userSays(STRANGER, 'connect acme')
  w.tg.userSays(STRANGER, '/connect acme')
  w.tg.userSays(USER, 'connect acme', { id: -100123, type: 'group', title: 'family' })
  w.tg.userSays(USER, 'connect acme', { id: -100124, type: 'supergroup', title: 'work' })
  w.tg.pushUpdate({ edited_message: { message_id: 1, date: now, edit_date: now, chat: { id: USER.id, type: 'private', first_name: 'Ada' }, from: { ...USER, is_bot: false }, text: 'connect acme' } })
  w.tg.pushUpdate({ channel_post: { message_id: 2, date: now, chat: { id: -100999, type: 'channel', title: 'news' }, text: 'connect acme' } })
  w.tg.pushUpdate({ my_chat_member: { chat: { id: -100123, type: 'group', title: 'family' }, from: { ...USER, is_bot: false }, date: now, old_chat_member: { status: 'left', user: BOT_USER }, new_chat_member: { status: 'member', user: BOT_USER } } })
  w.tg.userTaps(STRANGER, 1, 'c:acme')
  w.tg.userTaps(USER, 1, 'c:acme', -100123) // the allowed user, but in a group
  // The allowed user in the private chat is served; updates are handled in order, so by the
  // time this is answered every update above has been through the bot.
  await say(w, '/help', /latchkey connects your agent/)
  const actions = w.tg.actions(from)
  t.same(actions.map((r) => [r.method, r.payload.chat_id]), [['sendMessage', USER.id]], 'the only reply is to the allowed user')
  const db = w.daemon.deps.db
  t.same(db.prepare('SELECT COUNT(*) AS n FROM bot_chat_state').get(), { n: 0 }, 'no dialog state')
  t.same(db.prepare('SELECT COUNT(*) AS n FROM oauth_flows').get(), { n: 0 }, 'no flow started')
  t.match(w.logs.text(), /ignored an update/, 'ignored updates are logged')
})
