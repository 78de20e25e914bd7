import type { Db } from './open.js'
import { prepared } from './statements.js'

export type FlowStatus = 'waiting' | 'exchanging' | 'connected' | 'denied' | 'failed' | 'expired'
export type ExchangeMode = 'daemon' | 'client'

/** Statuses a flow never leaves. */
const ENDED: ReadonlySet<string> = new Set(['connected', 'denied', 'failed', 'expired'])

/** True once a flow (or a status read from /oauth/pending) has ended. */
export function isFlowEnded(status: string): boolean {
  return ENDED.has(status)
}

export interface Flow {
  id: string
  state: string
  provider: string
  exchange: ExchangeMode
  status: FlowStatus
  error: string | null
  redirectUri: string
  authorizationUrl: string
  tokenUrl: string
  issuer: string | null
  codeVerifier: string | null
  requestedScopes: string[]
  grantedScopes: string[] | null
  chatId: number | null
  messageId: number | null
  createdAt: number
  expiresAt: number
  callbackAt: number | null
  finishedAt: number | null
}

interface FlowRow {
  id: string
  state: string
  provider: string
  exchange: ExchangeMode
  status: FlowStatus
  error: string | null
  redirect_uri: string
  authorization_url: string
  token_url: string
  issuer: string | null
  code_verifier: string | null
  requested_scopes: string
  granted_scopes: string | null
  chat_id: number | null
  message_id: number | null
  created_at: number
  expires_at: number
  callback_at: number | null
  finished_at: number | null
}

const splitScopes = (s: string): string[] => (s ? s.split(' ') : [])

export function rowToFlow(r: FlowRow): Flow {
  return {
    id: r.id,
    state: r.state,
    provider: r.provider,
    exchange: r.exchange,
    status: r.status,
    error: r.error,
    redirectUri: r.redirect_uri,
    authorizationUrl: r.authorization_url,
    tokenUrl: r.token_url,
    issuer: r.issuer,
    codeVerifier: r.code_verifier,
    requestedScopes: splitScopes(r.requested_scopes),
    grantedScopes: r.granted_scopes === null ? null : splitScopes(r.granted_scopes),
    chatId: r.chat_id,
    messageId: r.message_id,
    createdAt: r.created_at,
    expiresAt: r.expires_at,
    callbackAt: r.callback_at,
    finishedAt: r.finished_at,
  }
}

export type NewFlow = Pick<
  Flow,
  | 'id' | 'state' | 'provider' | 'exchange' | 'redirectUri' | 'authorizationUrl' | 'tokenUrl' | 'issuer'
  | 'codeVerifier' | 'requestedScopes' | 'chatId' | 'messageId' | 'createdAt' | 'expiresAt'
>

export function insertFlow(db: Db, f: NewFlow): void {
  prepared(
    db,
    `INSERT INTO oauth_flows (id, state, provider, exchange, redirect_uri, authorization_url, token_url, issuer,
       code_verifier, requested_scopes, chat_id, message_id, created_at, expires_at)
     VALUES (@id, @state, @provider, @exchange, @redirectUri, @authorizationUrl, @tokenUrl, @issuer,
       @codeVerifier, @requestedScopes, @chatId, @messageId, @createdAt, @expiresAt)`,
  ).run({ ...f, requestedScopes: f.requestedScopes.join(' ') })
}

export function getFlowById(db: Db, id: string): Flow | undefined {
  const row = prepared(db, 'SELECT * FROM oauth_flows WHERE id = ?').get(id) as FlowRow | undefined
  return row && rowToFlow(row)
}

export function getFlowByState(db: Db, state: string): Flow | undefined {
  const row = prepared(db, 'SELECT * FROM oauth_flows WHERE state = ?').get(state) as FlowRow | undefined
  return row && rowToFlow(row)
}

/**
 * Moves a waiting, unexpired flow to `to`; returns false when another request got there first
 * (the compare-and-set that makes a state single-use, oauth-security.md B2).
 */
export function consumeWaitingFlow(
  db: Db,
  state: string,
  now: number,
  to: { status: FlowStatus; error?: string | null; finished?: boolean },
): boolean {
  const result = prepared(
    db,
    `UPDATE oauth_flows SET status = @status, error = @error, callback_at = @now,
       finished_at = CASE WHEN @finished THEN @now ELSE NULL END,
       code_verifier = CASE WHEN @finished THEN NULL ELSE code_verifier END
     WHERE state = @state AND status = 'waiting' AND expires_at > @now`,
  ).run({ state, now, status: to.status, error: to.error ?? null, finished: to.finished ? 1 : 0 })
  return result.changes === 1
}

/** Ends a flow that is exchanging; the verifier is dropped since it can never be used again. */
export function finishFlow(
  db: Db,
  state: string,
  now: number,
  outcome: { status: 'connected' | 'failed'; error?: string; grantedScopes?: string[] },
): boolean {
  return (
    prepared(
      db,
      `UPDATE oauth_flows SET status = @status, error = @error, granted_scopes = @granted,
         finished_at = @now, code_verifier = NULL
       WHERE state = @state AND status = 'exchanging'`,
    ).run({
        state,
        now,
        status: outcome.status,
        error: outcome.error ?? null,
        granted: outcome.grantedScopes ? outcome.grantedScopes.join(' ') : null,
      }).changes === 1
  )
}

/**
 * Marks flows past their life as expired and returns them: waiting flows, and client-exchanged
 * flows whose code was never collected (their code is deleted).
 */
export function expireFlows(db: Db, now: number): Flow[] {
  return db.transaction(() => {
    const rows = prepared(
      db,
      `UPDATE oauth_flows SET status = 'expired', error = 'expired', finished_at = @now, code_verifier = NULL
       WHERE expires_at <= @now AND (status = 'waiting' OR (status = 'exchanging' AND exchange = 'client'))
       RETURNING *`,
    ).all({ now }) as FlowRow[]
    const dropCode = prepared(db, 'DELETE FROM oauth_pending WHERE state = ?')
    for (const row of rows) dropCode.run(row.state)
    return rows.map(rowToFlow)
  })()
}

/** Deletes a flow (and, by cascade, its pending row). */
export function deleteFlow(db: Db, state: string): void {
  prepared(db, 'DELETE FROM oauth_flows WHERE state = ?').run(state)
}

/** Forgets finished flows older than `before`, so the table does not grow without bound. */
export function purgeFinishedFlows(db: Db, before: number): number {
  return db
    .prepare(`DELETE FROM oauth_flows WHERE status NOT IN ('waiting', 'exchanging') AND COALESCE(finished_at, expires_at) < ?`)
    .run(before).changes
}

/** Records the chat message that shows a flow's link, so its result can edit that message. */
export function setFlowMessage(db: Db, flowId: string, chatId: number, messageId: number): void {
  prepared(db, 'UPDATE oauth_flows SET chat_id = ?, message_id = ? WHERE id = ?').run(chatId, messageId, flowId)
}

/** True while some flow still needs the resolve job (waiting for a callback or a code exchange). */
export function hasActiveFlows(db: Db): boolean {
  return prepared(db, `SELECT 1 FROM oauth_flows WHERE status IN ('waiting', 'exchanging') LIMIT 1`).get() !== undefined
}
