// The sandbox login and consent pages (dexcom-api.md §2.3): a dropdown of simulated users, no
// password, then Authorize / Deny. Self-contained HTML (no script, style or external resource);
// every value is escaped. Both forms submit with GET to the login URL itself, so a test can also
// follow `…/login?<params>&username=SandboxUser7&approve=yes` with a plain HTTP client.
import { escapeHtml } from '../../../http/pages.js'
import { SANDBOX_USERS, USER_PROFILES } from './generate.js'
import type { DexcomSandboxUser } from './types.js'

/** Headers for every page: nothing loads, nothing is cached, nothing leaks through Referer. */
export const SIM_PAGE_HEADERS = {
  'content-type': 'text/html; charset=utf-8',
  'cache-control': 'no-store',
  'referrer-policy': 'no-referrer',
  // No form-action: Chrome applies it to the redirect after submission, which goes to the app.
  'content-security-policy': "default-src 'none'",
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
} as const

/** The authorization-request parameters carried from page to page. */
export interface LoginParams {
  client_id: string
  redirect_uri: string
  response_type: string
  scope: string
  state?: string
}

function shell(title: string, body: string): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex"><title>${escapeHtml(title)}</title></head>
<body><h1>${escapeHtml(title)}</h1>
<p><small>latchkey's local Dexcom simulator: simulated accounts and data only.</small></p>
${body}</body></html>
`
}

function hidden(params: LoginParams, extra: Record<string, string> = {}): string {
  const all: Record<string, string | undefined> = { ...params, ...extra }
  return Object.entries(all)
    .filter((entry): entry is [string, string] => entry[1] !== undefined)
    .map(([name, value]) => `<input type="hidden" name="${escapeHtml(name)}" value="${escapeHtml(value)}">`)
    .join('\n')
}

/** Step 1: choose a simulated user (no password on the sandbox). */
export function loginPage(action: string, params: LoginParams, problem?: string): string {
  const options = SANDBOX_USERS.map(
    (u, i) => `<option value="${escapeHtml(u)}"${i === 0 ? ' selected' : ''}>${escapeHtml(`${u} (${USER_PROFILES[u].label})`)}</option>`,
  ).join('\n')
  return shell(
    'Dexcom Sandbox login',
    `${problem ? `<p role="alert">${escapeHtml(problem)}</p>` : ''}
<form method="get" action="${escapeHtml(action)}">
${hidden(params)}
<label for="username">Simulated user</label>
<select id="username" name="username">
${options}
</select>
<p>No password is required on the sandbox.</p>
<button type="submit" id="login">Login</button>
</form>`,
  )
}

/** Step 2: consent. Authorize returns a code to the app; Deny returns error=access_denied. */
export function consentPage(action: string, params: LoginParams, user: DexcomSandboxUser): string {
  let target = params.redirect_uri
  try {
    target = new URL(params.redirect_uri).host
  } catch {
    // validated before we get here; keep the raw text otherwise
  }
  return shell(
    'Authorize access to Dexcom data',
    `<p>${escapeHtml(`The app "${params.client_id}" asks to read the CGM data of ${user}: glucose readings, events, calibrations, alerts and devices, with ongoing access (offline_access).`)}</p>
<p>${escapeHtml(`You will be sent back to ${target}.`)}</p>
<form method="get" action="${escapeHtml(action)}">
${hidden(params, { username: user })}
<button type="submit" id="approve" name="approve" value="yes">Authorize</button>
<button type="submit" id="deny" name="approve" value="no">Deny</button>
</form>`,
  )
}

/** A request too broken to redirect back (unknown client, unregistered redirect URI). */
export function errorPage(message: string): string {
  return shell('Dexcom Sandbox: bad request', `<p role="alert">${escapeHtml(message)}</p>`)
}
