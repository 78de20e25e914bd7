import type { Db } from './open.js'

export interface OutboxMessage {
  id: number
  kind: string
  provider: string
  flowId: string | null
  chatId: number | null
  messageId: number | null
  text: string
  createdAt: number
}

export type NewOutboxMessage = Omit<OutboxMessage, 'id'>

/** Queues a message for the user; the reporter (the bot) delivers it and marks it delivered. */
export function enqueueOutbox(db: Db, m: NewOutboxMessage): number {
  const result = db
    .prepare(
      `INSERT INTO outbox (kind, provider, flow_id, chat_id, message_id, text, created_at)
       VALUES (@kind, @provider, @flowId, @chatId, @messageId, @text, @createdAt)`,
    )
    .run(m)
  return Number(result.lastInsertRowid)
}

/** Queues a notice that belongs to no flow or chat message: the reporter sends it to the allowed users. */
export function enqueueNotice(db: Db, n: { kind: string; provider: string; text: string; createdAt: number }): number {
  return enqueueOutbox(db, { ...n, flowId: null, chatId: null, messageId: null })
}

export function undeliveredOutbox(db: Db, limit = 50): OutboxMessage[] {
  return db
    .prepare(
      `SELECT id, kind, provider, flow_id AS flowId, chat_id AS chatId, message_id AS messageId, text,
         created_at AS createdAt
       FROM outbox WHERE delivered_at IS NULL ORDER BY id LIMIT ?`,
    )
    .all(limit) as OutboxMessage[]
}

export function markOutboxDelivered(db: Db, id: number, now: number): void {
  db.prepare('UPDATE outbox SET delivered_at = ? WHERE id = ?').run(now, id)
}
