import type { Db } from './open.js'

/** Which answer the bot waits for in a chat. */
export type ChatStep = 'client_id' | 'client_secret' | 'paste'

/** One chat's place in a dialog; holds no secret (the client secret is saved the moment it arrives). */
export interface ChatState {
  chatId: number
  step: ChatStep
  provider: string
  clientId: string | null
  flowId: string | null
  updatedAt: number
}

export function setChatState(db: Db, s: ChatState): void {
  db.prepare(
    `INSERT INTO bot_chat_state (chat_id, step, provider, client_id, flow_id, updated_at)
     VALUES (@chatId, @step, @provider, @clientId, @flowId, @updatedAt)
     ON CONFLICT (chat_id) DO UPDATE SET step = @step, provider = @provider, client_id = @clientId, flow_id = @flowId,
       updated_at = @updatedAt`,
  ).run(s)
}

export function getChatState(db: Db, chatId: number): ChatState | undefined {
  return db
    .prepare(
      `SELECT chat_id AS chatId, step, provider, client_id AS clientId, flow_id AS flowId, updated_at AS updatedAt
       FROM bot_chat_state WHERE chat_id = ?`,
    )
    .get(chatId) as ChatState | undefined
}

/** Returns the state that was cleared, if any. */
export function clearChatState(db: Db, chatId: number): ChatState | undefined {
  const state = getChatState(db, chatId)
  db.prepare('DELETE FROM bot_chat_state WHERE chat_id = ?').run(chatId)
  return state
}
