import type { Flow } from '../db/oauth-flows.js'
import type { NewOutboxMessage } from '../db/outbox.js'

/** Plain-language reasons for failure codes a user may see (never provider-supplied HTML). */
export function describeFailure(error: string | null, name: string): string {
  switch (error) {
    case 'access_denied':
      return `access was denied at ${name}`
    case 'expired':
      return 'the link expired before it was approved'
    case 'invalid_grant':
      return `${name} did not accept the authorization code (it may have expired or been used already)`
    case 'invalid_client':
    case 'unauthorized_client':
      return `${name} rejected the client id or secret; check them and connect again`
    case 'exchange_interrupted':
      return 'latchkey was interrupted while finishing the connection'
    case 'provider_unreachable':
      return `latchkey could not reach ${name}'s token endpoint`
    case 'auth_file_unwritable':
      return 'latchkey could not write the auth file (run "latchkey doctor")'
    case 'provider_removed':
      return `${name} is no longer in the configuration`
    case 'bad_response':
      return `${name} sent a token response latchkey could not use`
    case 'superseded':
      return 'it was replaced by a sign-in with a code'
    // What providers send back to the redirect URI (RFC 6749 §4.1.2.1, OpenID Connect Core §3.1.2.6).
    case 'invalid_request':
      return `${name} refused the sign-in request as incomplete or malformed`
    case 'unsupported_response_type':
      return `${name} does not offer this kind of sign-in for this app`
    case 'invalid_scope':
      return `${name} did not accept the permissions (scopes) latchkey asked for; check the provider's scopes`
    case 'server_error':
      return `${name} had an internal error; try again in a few minutes`
    case 'temporarily_unavailable':
      return `${name} is busy or down for maintenance; try again in a few minutes`
    case 'login_required':
    case 'interaction_required':
    case 'consent_required':
    case 'account_selection_required':
      return `${name} needs you to sign in and approve in the browser; start again and finish there`
    default:
      return `${name} reported an error it did not explain (code "${error ?? 'unknown_error'}")`
  }
}

/** Requested scopes the provider did not grant. */
export function missingScopes(flow: Pick<Flow, 'requestedScopes' | 'grantedScopes'>): string[] {
  if (flow.grantedScopes === null) return []
  const granted = new Set(flow.grantedScopes)
  return flow.requestedScopes.filter((s) => !granted.has(s))
}

/** The one-line result of a flow, for the chat or a terminal. Contains no secret. */
export function flowResultText(flow: Flow, name: string): string {
  switch (flow.status) {
    case 'connected': {
      const scopes = flow.grantedScopes ?? flow.requestedScopes
      const missing = missingScopes(flow)
      return (
        `✅ ${name} connected${scopes.length ? ` (scopes: ${scopes.join(', ')})` : ''}` +
        (missing.length ? `\n⚠️ not granted: ${missing.join(', ')}` : '')
      )
    }
    case 'denied':
      return `❌ ${name}: ${describeFailure(flow.error, name)}.`
    case 'expired':
      return `⌛ ${name}: the link expired before it was approved. Start again with "connect ${flow.provider}".`
    case 'failed':
      return `❌ ${name} connection failed: ${describeFailure(flow.error, name)}.`
    default:
      return `${name}: waiting for you to approve…`
  }
}

/** The outbox row that reports a finished flow to whoever started it. */
export function flowReport(flow: Flow, now: number, name: string = flow.provider): NewOutboxMessage {
  return {
    kind: `flow_${flow.status}`,
    provider: flow.provider,
    flowId: flow.id,
    chatId: flow.chatId,
    messageId: flow.messageId,
    text: flowResultText(flow, name),
    createdAt: now,
  }
}
