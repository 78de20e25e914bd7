// A Telegram Bot API server on loopback for tests: grammY talks real HTTP to it
// (`telegram.apiRoot`), and the test plays the user by injecting updates. It records every
// request the bot makes (method and decoded payload, JSON or multipart), keeps the chat's
// messages so edits and deletions can be checked, and answers getUpdates with the long-poll
// semantics of the real server (offset confirms earlier updates; an empty queue waits up to
// `timeout` seconds).
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import { listenLoopback, type Teardown } from './deps.js'

export interface BotApiRequest {
  method: string
  /** The decoded parameters (JSON body, multipart fields, or url-encoded form/query). */
  payload: Record<string, unknown>
  /** The raw body as text (multipart included), for canary searches. */
  raw: string
  /** Receipt time, performance.now() in this process. */
  at: number
}

export interface ChatMessage {
  chatId: number
  messageId: number
  fromBot: boolean
  text: string
  replyMarkup?: unknown
  deleted: boolean
  edits: number
}

export interface TgUser {
  id: number
  first_name: string
  is_bot?: boolean
}

export interface BotApiServer {
  apiRoot: string
  token: string
  requests: BotApiRequest[]
  /** Every message in every chat, by `${chatId}:${messageId}`. */
  messages: Map<string, ChatMessage>
  /** Queues a raw update (update_id assigned here). */
  pushUpdate(update: Record<string, unknown>): number
  /** The user types `text` in a chat (private with the user by default); returns the message id. */
  userSays(user: TgUser, text: string, chat?: { id: number; type: string; title?: string }): number
  /** The user taps an inline button of a bot message. */
  userTaps(user: TgUser, messageId: number, data: string, chatId?: number): string
  /** Resolves with the first request (from index `from`) that matches; rejects after `ms`. */
  waitFor(pred: (r: BotApiRequest) => boolean, opts?: { from?: number; ms?: number; what?: string }): Promise<BotApiRequest>
  /** Bot requests other than the polling machinery (getUpdates, getMe, deleteWebhook, setMyCommands). */
  actions(from?: number): BotApiRequest[]
  /** Make the next calls of `method` fail with this Telegram error. */
  failNext(method: string, errorCode: number, description: string, times?: number): void
  close(): Promise<void>
}

export const TEST_BOT_TOKEN = '987654321:AAH-test-bot-token-canary-0123456789abcd'
export const BOT_USER = { id: 987654321, is_bot: true, first_name: 'latchkey', username: 'latchkey_test_bot' }
const POLLING = new Set(['getUpdates', 'getMe', 'deleteWebhook', 'setMyCommands', 'getWebhookInfo'])

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = []
  for await (const c of req) chunks.push(c as Buffer)
  return Buffer.concat(chunks)
}

async function decode(req: IncomingMessage, body: Buffer): Promise<Record<string, unknown>> {
  const type = String(req.headers['content-type'] ?? '')
  const query = Object.fromEntries(new URL(req.url ?? '/', 'http://x').searchParams)
  if (!body.length) return query
  if (type.startsWith('application/json')) return { ...query, ...(JSON.parse(body.toString('utf8')) as Record<string, unknown>) }
  if (type.startsWith('multipart/form-data')) {
    const boundary = /boundary="?([^";]+)"?/.exec(type)?.[1]
    if (!boundary) throw new Error('multipart without a boundary')
    const parts = parseMultipart(body, boundary)
    const out: Record<string, unknown> = { ...query }
    for (const part of parts) {
      if (part.filename !== undefined) continue
      const v = part.data.toString('utf8')
      try {
        out[part.name] = JSON.parse(v)
      } catch {
        out[part.name] = v
      }
    }
    // Files travel as their own parts, referenced by "attach://<name>" (Bot API multipart).
    for (const [k, v] of Object.entries(out)) {
      const ref = typeof v === 'string' && v.startsWith('attach://') ? parts.find((p) => p.name === v.slice(9)) : parts.find((p) => p.name === k && p.filename !== undefined)
      if (ref) out[k] = { file: ref.filename, size: ref.data.length, bytes: ref.data }
    }
    return out
  }
  return { ...query, ...Object.fromEntries(new URLSearchParams(body.toString('utf8'))) }
}

interface MultipartPart {
  name: string
  filename?: string
  data: Buffer
}

/** A small RFC 7578 parser: tolerant of the framing details strict parsers reject. */
function parseMultipart(body: Buffer, boundary: string): MultipartPart[] {
  const delimiter = Buffer.from(`--${boundary}`)
  const parts: MultipartPart[] = []
  let start = body.indexOf(delimiter)
  while (start !== -1) {
    const from = start + delimiter.length
    if (body.subarray(from, from + 2).toString() === '--') break
    const next = body.indexOf(delimiter, from)
    const chunk = body.subarray(from, next === -1 ? body.length : next)
    const headerEnd = chunk.indexOf('\r\n\r\n')
    if (headerEnd !== -1) {
      const headers = chunk.subarray(0, headerEnd).toString('utf8')
      let data = chunk.subarray(headerEnd + 4)
      if (data.subarray(-2).toString() === '\r\n') data = data.subarray(0, -2)
      // grammY writes `filename=x.png` unquoted: accept both forms.
      const name = /[;:]\s*name="?([^";\r\n]*)"?/i.exec(headers)?.[1]
      const filename = /filename="?([^";\r\n]*)"?/i.exec(headers)?.[1]
      if (name !== undefined) parts.push({ name, ...(filename !== undefined ? { filename } : {}), data })
    }
    start = next
  }
  return parts
}

const HTML_TAGS = new Set(['b', 'strong', 'i', 'em', 'u', 'ins', 's', 'strike', 'del', 'a', 'code', 'pre', 'tg-spoiler', 'span', 'blockquote'])

/**
 * Why Telegram would refuse `text` in parse mode HTML (Bot API "HTML style"): only its tags,
 * closed in order, and only &lt; &gt; &amp; &quot; and numeric entities; a bare "<" or "&" fails.
 */
export function htmlProblem(text: string): string | undefined {
  const open: string[] = []
  for (const m of text.matchAll(/<(\/?)([a-z-]+)([^>]*)>|<|&(#\d+|#x[0-9a-f]+|lt|gt|amp|quot);|&/gi)) {
    const [all, close, tag] = m
    if (all === '<') return `unsupported start tag at byte offset ${m.index}`
    if (all === '&') return `unsupported entity at byte offset ${m.index}`
    if (!tag) continue
    const name = tag.toLowerCase()
    if (!HTML_TAGS.has(name)) return `unsupported start tag "${name}" at byte offset ${m.index}`
    if (close) {
      if (open.pop() !== name) return `unmatched end tag "${name}" at byte offset ${m.index}`
    } else open.push(name)
  }
  return open.length ? `can't find end tag corresponding to start tag "${open.at(-1)}"` : undefined
}

/** Starts the server on 127.0.0.1:0; closed on teardown. */
export async function startBotApiServer(t: Teardown, opts: { token?: string; canJoinGroups?: boolean } = {}): Promise<BotApiServer> {
  const token = opts.token ?? TEST_BOT_TOKEN
  const requests: BotApiRequest[] = []
  const messages = new Map<string, ChatMessage>()
  const updates: { update_id: number; [k: string]: unknown }[] = []
  const waiters = new Set<() => void>()
  const failures = new Map<string, { code: number; description: string; times: number }>()
  const listeners = new Set<() => void>()
  let nextUpdateId = 1
  let nextMessageId = 1
  const now = () => Math.floor(Date.now() / 1000)
  const key = (chatId: number, messageId: number) => `${chatId}:${messageId}`

  const botMessage = (chatId: number, text: string, replyMarkup: unknown) => {
    const messageId = nextMessageId++
    messages.set(key(chatId, messageId), { chatId, messageId, fromBot: true, text, replyMarkup, deleted: false, edits: 0 })
    return { message_id: messageId, date: now(), chat: { id: chatId, type: chatId > 0 ? 'private' : 'group', first_name: 'User' }, from: BOT_USER, text, ...(replyMarkup ? { reply_markup: replyMarkup } : {}) }
  }

  const answer = (res: ServerResponse, status: number, body: unknown) => {
    res.writeHead(status, { 'content-type': 'application/json' })
    res.end(JSON.stringify(body))
  }
  const fail = (res: ServerResponse, code: number, description: string) => answer(res, code, { ok: false, error_code: code, description })

  function handle(method: string, p: Record<string, unknown>, res: ServerResponse, req: IncomingMessage): void {
    const failure = failures.get(method)
    if (failure && failure.times > 0) {
      failure.times--
      return fail(res, failure.code, failure.description)
    }
    const chatId = Number(p.chat_id)
    // Telegram refuses text it cannot parse in HTML mode: so does this server.
    if (p.parse_mode === 'HTML') {
      const problem = htmlProblem(String(p.text ?? p.caption ?? ''))
      if (problem) return fail(res, 400, `Bad Request: can't parse entities: ${problem}`)
    }
    switch (method) {
      case 'getMe':
        return answer(res, 200, { ok: true, result: { ...BOT_USER, can_join_groups: opts.canJoinGroups ?? false, can_read_all_group_messages: false, supports_inline_queries: false } })
      case 'deleteWebhook':
      case 'setMyCommands':
        return answer(res, 200, { ok: true, result: true })
      case 'getWebhookInfo':
        return answer(res, 200, { ok: true, result: { url: '', has_custom_certificate: false, pending_update_count: updates.length } })
      case 'getUpdates': {
        const offset = Number(p.offset ?? 0)
        if (offset > 0) while (updates.length && (updates[0]?.update_id ?? 0) < offset) updates.shift()
        const limit = Number(p.limit ?? 100)
        const timeout = Number(p.timeout ?? 0)
        const reply = () => answer(res, 200, { ok: true, result: updates.slice(0, limit) })
        if (updates.length || timeout <= 0) return reply()
        let done = false
        const finish = () => {
          if (done) return
          done = true
          clearTimeout(timer)
          waiters.delete(wake)
          if (!res.destroyed) reply()
        }
        const wake = () => finish()
        const timer = setTimeout(finish, timeout * 1000)
        waiters.add(wake)
        req.once('close', () => {
          done = true
          clearTimeout(timer)
          waiters.delete(wake)
        })
        return
      }
      case 'sendChatAction':
        return answer(res, 200, { ok: true, result: true })
      case 'sendMessage':
        return answer(res, 200, { ok: true, result: botMessage(chatId, String(p.text ?? ''), p.reply_markup) })
      case 'sendPhoto':
        return answer(res, 200, { ok: true, result: { ...botMessage(chatId, String(p.caption ?? ''), p.reply_markup), photo: [{ file_id: 'photo-1', file_unique_id: 'u1', width: 1, height: 1 }] } })
      case 'editMessageText': {
        const m = messages.get(key(chatId, Number(p.message_id)))
        if (!m || m.deleted) return fail(res, 400, 'Bad Request: message to edit not found')
        if (!m.fromBot) return fail(res, 400, "Bad Request: message can't be edited")
        if (m.text === p.text && JSON.stringify(m.replyMarkup) === JSON.stringify(p.reply_markup))
          return fail(res, 400, 'Bad Request: message is not modified')
        m.text = String(p.text ?? '')
        m.replyMarkup = p.reply_markup
        m.edits++
        return answer(res, 200, { ok: true, result: { message_id: m.messageId, date: now(), edit_date: now(), chat: { id: chatId, type: 'private' }, text: m.text } })
      }
      case 'editMessageReplyMarkup': {
        const m = messages.get(key(chatId, Number(p.message_id)))
        if (!m || m.deleted) return fail(res, 400, 'Bad Request: message to edit not found')
        if (JSON.stringify(m.replyMarkup) === JSON.stringify(p.reply_markup)) return fail(res, 400, 'Bad Request: message is not modified')
        m.replyMarkup = p.reply_markup
        m.edits++
        return answer(res, 200, { ok: true, result: { message_id: m.messageId, date: now(), edit_date: now(), chat: { id: chatId, type: 'private' }, text: m.text } })
      }
      case 'deleteMessage': {
        const m = messages.get(key(chatId, Number(p.message_id)))
        if (!m || m.deleted) return fail(res, 400, 'Bad Request: message to delete not found')
        m.deleted = true
        return answer(res, 200, { ok: true, result: true })
      }
      case 'answerCallbackQuery':
        return answer(res, 200, { ok: true, result: true })
      default:
        return fail(res, 404, 'Not Found: method not found')
    }
  }

  const server = createServer((req, res) => {
    void (async () => {
      const body = await readBody(req)
      const match = /^\/bot([^/]+)\/([A-Za-z]+)$/.exec((req.url ?? '').split('?')[0] ?? '')
      if (!match) return fail(res, 404, 'Not Found')
      if (match[1] !== token) return fail(res, 401, 'Unauthorized')
      const method = match[2] as string
      const payload = await decode(req, body)
      requests.push({ method, payload, raw: body.toString('utf8'), at: performance.now() })
      for (const l of listeners) l()
      handle(method, payload, res, req)
    })().catch((err: unknown) => fail(res, 500, `Internal: ${(err as Error).message}`))
  })
  const apiRoot = await listenLoopback(server)

  const pushUpdate = (update: Record<string, unknown>): number => {
    const id = nextUpdateId++
    updates.push({ update_id: id, ...update })
    for (const w of [...waiters]) w()
    return id
  }

  const api: BotApiServer = {
    apiRoot,
    token,
    requests,
    messages,
    pushUpdate,
    userSays(user, text, chat) {
      const c = chat ?? { id: user.id, type: 'private', first_name: user.first_name }
      const messageId = nextMessageId++
      messages.set(key(c.id, messageId), { chatId: c.id, messageId, fromBot: false, text, deleted: false, edits: 0 })
      const entities = text.startsWith('/') ? [{ type: 'bot_command', offset: 0, length: text.split(/\s/)[0]?.length ?? 1 }] : undefined
      pushUpdate({ message: { message_id: messageId, date: now(), chat: c, from: { is_bot: false, ...user }, text, ...(entities ? { entities } : {}) } })
      return messageId
    },
    userTaps(user, messageId, data, chatId = user.id) {
      const m = messages.get(key(chatId, messageId))
      const id = `cq-${nextUpdateId}`
      pushUpdate({
        callback_query: {
          id,
          from: { is_bot: false, ...user },
          chat_instance: 'ci-1',
          data,
          message: { message_id: messageId, date: now(), chat: { id: chatId, type: chatId > 0 ? 'private' : 'group', first_name: 'User' }, from: BOT_USER, text: m?.text ?? '' },
        },
      })
      return id
    },
    waitFor(pred, o = {}) {
      const from = o.from ?? 0
      const ms = o.ms ?? 15_000
      return new Promise((resolve, reject) => {
        const check = () => {
          const found = requests.slice(from).find(pred)
          if (!found) return false
          listeners.delete(check)
          clearTimeout(timer)
          resolve(found)
          return true
        }
        const timer = setTimeout(() => {
          listeners.delete(check)
          reject(new Error(`no Bot API request ${o.what ?? 'matching'} within ${ms} ms; got: ${requests.slice(from).map((r) => r.method).join(', ')}`))
        }, ms)
        if (!check()) listeners.add(check)
      })
    },
    actions(from = 0) {
      return requests.slice(from).filter((r) => !POLLING.has(r.method))
    },
    failNext(method, errorCode, description, times = 1) {
      failures.set(method, { code: errorCode, description, times })
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const w of [...waiters]) w()
        server.close(() => resolve())
        server.closeAllConnections()
      }),
  }
  t.teardown(() => api.close())
  return api
}

/** The inline keyboard buttons of a recorded sendMessage/editMessageText payload, flattened. */
export function buttons(payload: Record<string, unknown>): { text: string; url?: string; callback_data?: string }[] {
  const markup = payload.reply_markup as { inline_keyboard?: { text: string; url?: string; callback_data?: string }[][] } | undefined
  return (markup?.inline_keyboard ?? []).flat()
}
