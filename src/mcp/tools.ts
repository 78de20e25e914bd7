import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js'
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js'
import { z } from 'zod'
import type { Broker } from '../broker/broker.js'
import type { Caller } from '../broker/caller.js'
import { connectForCaller, MAX_CONNECT_WAIT_MS, type ChatLinks } from '../broker/connect.js'
import { allowsConnection } from '../broker/scopes.js'
import { parseSince } from '../time-format.js'
import { getConnection, listConnections } from '../db/connections.js'
import { timeInRange } from '../integrations/dexcom/glucose-summary.js'
import { readReadings } from '../integrations/dexcom/store.js'
import { isAppError } from '../errors.js'
import { findProvider } from '../providers/lookup.js'
import { RECONSENT_HEADER, insufficientScope, offerStepUp, type StepUp } from '../oauth/step-up.js'
import { asOAuthEntry, readAuthFile } from '../store/auth-json.js'

/** What the MCP tools need: the broker (and through it deps), the caller, and the chat when the bot runs. */
export interface McpContext {
  broker: Broker
  caller: Caller
  chat: ChatLinks | undefined
  /** The package version, reported to clients. */
  version: string
}

const text = (value: unknown, isError = false): CallToolResult => ({
  content: [{ type: 'text', text: typeof value === 'string' ? value : JSON.stringify(value, null, 2) }],
  ...(isError ? { isError: true } : {}),
})

const STEP_UP_TEXT: Record<StepUp['status'], string> = {
  offered: 'The user was offered a re-consent with these scopes in the chat; try again once they approve.',
  already_offered: 'The user was already offered a re-consent with these scopes; try again once they approve.',
  no_chat: 'latchkey runs without its Telegram bot, so it cannot offer the user a re-consent: tell the user which scopes are missing.',
  already_granted: 'The connection already has every scope asked for: nothing to offer.',
  not_connected: 'The connection is not connected: use connect first.',
  no_scope: 'No scope was given (neither scope nor a WWW-Authenticate header with error="insufficient_scope" and scope).',
}

/** Cuts `s` to at most `limit` UTF-8 bytes without splitting a character. */
function capText(s: string, limit: number): { text: string; truncated: boolean } {
  const bytes = Buffer.from(s, 'utf8')
  if (bytes.length <= limit) return { text: s, truncated: false }
  return { text: bytes.subarray(0, limit).toString('utf8').replace(/\uFFFD$/, ''), truncated: true }
}

/**
 * The MCP server for one caller: list_connections, connect, http_request and glucose_readings,
 * each limited by the caller's scopes (a tool with nothing in scope is not offered at all).
 */
export function createMcpServer(ctx: McpContext): McpServer {
  const { broker, caller } = ctx
  const { config, db, clock } = broker.deps
  const limit = config.broker.toolTextLimit
  const server = new McpServer({ name: 'latchkey', version: ctx.version })
  const inScope = Object.keys(config.providers).filter((id) => allowsConnection(caller.grants, id))

  server.registerTool(
    'list_connections',
    { description: 'The connections this agent may use: id, provider name, status, granted scopes and token expiry (never a token).', inputSchema: {} },
    async () => {
      const auth = await readAuthFile(config.authFile)
      const ids = new Set([...Object.keys(auth).filter((k) => asOAuthEntry(auth[k])), ...listConnections(db).map((c) => c.provider)])
      const rows = inScope
        .filter((id) => ids.has(id) || caller.grants !== 'all')
        .map((id) => {
          const entry = asOAuthEntry(auth[id])
          const connection = getConnection(db, id)
          const status = !entry ? 'not_connected' : (connection?.status ?? 'ok')
          return {
            id,
            provider: findProvider(config, id)?.displayName ?? id,
            status,
            scopes: connection?.grantedScopes ?? (entry?.scope ? entry.scope.split(' ') : []),
            expiresAt: entry?.expires === undefined ? null : new Date(entry.expires).toISOString(),
          }
        })
      return text(rows)
    },
  )

  if (inScope.length)
    server.registerTool(
      'connect',
      {
        description:
          'Starts connecting a provider: the approval link goes to the user\'s Telegram chat (when the bot runs) and is returned. Waits up to waitSeconds for the user to approve.',
        inputSchema: {
          provider: z.string().min(1).max(2048).describe(`a provider id (${inScope.join(', ')})${caller.grants === 'all' ? ', or the URL of an MCP server or OAuth issuer' : ''}`),
          waitSeconds: z.number().int().min(0).max(MAX_CONNECT_WAIT_MS / 1000).default(0).describe('how long to wait for the result'),
        },
      },
      async ({ provider, waitSeconds }) => {
        try {
          const outcome = await connectForCaller(broker.deps, ctx.chat, caller, provider, waitSeconds * 1000)
          return outcome.ok ? text(outcome.result) : text(outcome.message, true)
        } catch (err) {
          if (isAppError(err)) return text(err.message, true)
          throw err
        }
      },
    )

  if (inScope.length)
    server.registerTool(
      'http_request',
      {
        description: `Calls a connection's API through latchkey, which adds a fresh token: path is relative to the provider's API base. The body comes back as text, cut after ${limit} bytes.`,
        inputSchema: {
          connection: z.string().min(1).max(64).describe(`one of: ${inScope.join(', ')}`),
          method: z.string().regex(/^[A-Za-z]{1,16}$/).default('GET'),
          path: z.string().min(1).max(4096).describe('e.g. /v3/users/self/egvs'),
          query: z.record(z.string(), z.string()).optional(),
          headers: z.record(z.string(), z.string()).optional(),
          body: z.string().max(config.broker.maxRequestBytes).optional(),
        },
      },
      async ({ connection, method, path, query, headers, body }) => {
        const [rawPath, inlineQuery = ''] = path.split('?', 2) as [string, string?]
        const params = new URLSearchParams(inlineQuery)
        for (const [k, v] of Object.entries(query ?? {})) params.append(k, v)
        const lowered = Object.fromEntries(Object.entries(headers ?? {}).map(([k, v]) => [k.toLowerCase(), v]))
        const result = await broker.forward({ caller, connection, method, rawPath, query: params.toString(), headers: lowered, body: body === undefined ? undefined : Buffer.from(body, 'utf8') })
        if (result.kind === 'refused') {
          result.done(0)
          return text({ status: result.status, error: result.error, message: result.message }, true)
        }
        // Read up to the cap, then hang up: a tool result is text for a model, not a download.
        const chunks: Buffer[] = []
        let bytes = 0
        let truncated = false
        for await (const chunk of result.body) {
          chunks.push(chunk as Buffer)
          bytes += (chunk as Buffer).length
          if (bytes > limit) {
            truncated = true
            result.body.destroy()
            break
          }
        }
        result.done(bytes)
        const capped = capText(Buffer.concat(chunks).toString('utf8'), limit)
        const shown = Object.fromEntries(Object.entries(result.headers).filter(([k]) => ['content-type', 'location', 'retry-after', 'etag', 'last-modified', 'link', 'www-authenticate', RECONSENT_HEADER].includes(k) || k.startsWith('x-ratelimit')))
        return text({ status: result.status, headers: shown, body: capped.text, ...(truncated || capped.truncated ? { truncated: true, note: `body cut at ${limit} bytes` } : {}) })
      },
    )

  if (inScope.length)
    server.registerTool(
      'report_insufficient_scope',
      {
        description:
          'Report that a provider answered 403 insufficient_scope to a call made with a token from latchkey (latchkey token, getAccessToken): the user is offered, once, a one-tap re-consent in the Telegram chat with the larger scope set. Give the scopes, or the WWW-Authenticate header as received. (Calls through http_request or /proxy are reported by latchkey itself.)',
        inputSchema: {
          connection: z.string().min(1).max(64).describe(`one of: ${inScope.join(', ')}`),
          scope: z.string().max(4096).optional().describe('the scopes the provider asked for, space-separated'),
          wwwAuthenticate: z.string().max(4096).optional().describe('the WWW-Authenticate header of the 403, as received'),
        },
      },
      async ({ connection, scope, wwwAuthenticate }) => {
        if (!allowsConnection(caller.grants, connection) || !findProvider(config, connection)) return text(`${caller.name} may not use ${connection.slice(0, 64)}`, true)
        const required = [...(scope?.split(' ').filter(Boolean) ?? []), ...(insufficientScope(wwwAuthenticate) ?? [])]
        const outcome = offerStepUp(broker.deps, { provider: connection, required, ...(caller.isAgent ? { agent: caller.name } : {}) })
        return text({ ...outcome, message: STEP_UP_TEXT[outcome.status] }, outcome.status === 'no_scope' || outcome.status === 'not_connected')
      },
    )

  const glucose = config.dexcom.provider
  if (allowsConnection(caller.grants, glucose))
    server.registerTool(
      'glucose_readings',
      {
        description: 'Stored Dexcom glucose readings (mg/dL) since a time, with the time-in-range summary.',
        inputSchema: { since: z.string().max(40).default('24h').describe('24h, 7d, 30m, or an ISO 8601 time') },
      },
      async ({ since }) => {
        const from = parseSince(since, clock.now())
        if (from === undefined) return text('since: expected 24h, 7d, 30m or an ISO 8601 time', true)
        const readings = readReadings(db, glucose, from)
        const { lowMgdl, highMgdl } = config.dexcom
        const tir = timeInRange(readings, lowMgdl, highMgdl)
        const rows = readings.map((r) => ({ time: new Date(r.systemTime).toISOString(), mgdl: r.value, status: r.status, trend: r.trend }))
        const summary = { provider: glucose, since: new Date(from).toISOString(), count: readings.length, range: { lowMgdl, highMgdl }, timeInRange: tir }
        // Keep the newest readings that fit under the cap.
        let kept = rows
        while (kept.length && Buffer.byteLength(JSON.stringify({ summary, readings: kept })) > limit) kept = kept.slice(Math.ceil(kept.length / 10))
        return text({ summary, readings: kept, ...(kept.length < rows.length ? { truncated: true, note: `only the newest ${kept.length} of ${rows.length} readings fit in ${limit} bytes` } : {}) })
      },
    )

  return server
}
