// The Dexcom simulator as a test peer: started on loopback with a manual clock and closed on
// teardown, plus a helper that "submits" the simulator's GET forms the way a browser would.
import { startDexcomSimulator, type DexcomSimulator, type DexcomSimulatorOptions } from '../../src/integrations/dexcom/simulator/index.js'
import type { Teardown } from './deps.js'

export const SIM_CLIENT_ID = 'sim-test-client'
export const SIM_CLIENT_SECRET = 'sim-test-secret-canary-41d9e7'
export const SIM_REDIRECT_URI = 'http://127.0.0.1:9/oauth/callback'
/** 2026-11-25T12:00:00Z, like testDeps' clock. */
export const SIM_START = Date.UTC(2026, 10, 25, 12, 0, 0)

export interface TestDexcomSimulator extends DexcomSimulator {
  /** The simulator's clock: set or advance it. */
  clock: { now(): number; set(ms: number): void; advance(ms: number): void }
}

/** Starts the simulator with one client (SIM_CLIENT_*) and a manual clock at SIM_START unless overridden. */
export async function startTestDexcomSimulator(t: Teardown, opts: Partial<DexcomSimulatorOptions> = {}): Promise<TestDexcomSimulator> {
  let current = SIM_START
  const clock = { now: () => current, set: (ms: number) => void (current = ms), advance: (ms: number) => void (current += ms) }
  const sim = await startDexcomSimulator({
    clients: [{ clientId: SIM_CLIENT_ID, clientSecret: SIM_CLIENT_SECRET, redirectUris: [SIM_REDIRECT_URI] }],
    now: clock.now,
    ...opts,
  })
  t.teardown(() => sim.close())
  return Object.assign(sim, { clock })
}

const ENTITIES: Record<string, string> = { '&amp;': '&', '&lt;': '<', '&gt;': '>', '&quot;': '"', '&#39;': "'" }

function unescapeHtml(text: string): string {
  return text.replace(/&(amp|lt|gt|quot|#39);/g, (e) => ENTITIES[e] as string)
}

/**
 * The URL a browser would load when submitting the page's first GET form: its hidden inputs plus
 * `fields` (the select's choice, the clicked button's name=value), resolved against `pageUrl`.
 */
export function formSubmitUrl(html: string, pageUrl: string, fields: Record<string, string>): string {
  const form = /<form method="get" action="([^"]*)">([\s\S]*?)<\/form>/.exec(html)
  if (!form) throw new Error('no GET form on the page')
  const target = new URL(unescapeHtml(form[1] as string), pageUrl)
  target.search = ''
  for (const m of (form[2] as string).matchAll(/<input type="hidden" name="([^"]*)" value="([^"]*)">/g)) {
    target.searchParams.append(unescapeHtml(m[1] as string), unescapeHtml(m[2] as string))
  }
  for (const [k, v] of Object.entries(fields)) target.searchParams.set(k, v)
  return target.href
}

/** The authorization URL latchkey would build for the simulator. */
export function simAuthorizeUrl(sim: DexcomSimulator, opts: { version?: 'v2' | 'v3'; state?: string; clientId?: string; redirectUri?: string; scope?: string; responseType?: string } = {}): string {
  const url = new URL(`${sim.url}/${opts.version ?? 'v2'}/oauth2/login`)
  url.searchParams.set('client_id', opts.clientId ?? SIM_CLIENT_ID)
  url.searchParams.set('redirect_uri', opts.redirectUri ?? SIM_REDIRECT_URI)
  url.searchParams.set('response_type', opts.responseType ?? 'code')
  url.searchParams.set('scope', opts.scope ?? 'offline_access')
  url.searchParams.set('state', opts.state ?? 'state-123')
  return url.href
}

/** POSTs a form to the token endpoint and returns status and parsed JSON. */
export async function simTokenRequest(sim: DexcomSimulator, form: Record<string, string>, opts: { version?: 'v2' | 'v3'; headers?: Record<string, string> } = {}) {
  const res = await fetch(`${sim.url}/${opts.version ?? 'v2'}/oauth2/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...opts.headers },
    body: new URLSearchParams(form).toString(),
  })
  return { status: res.status, headers: res.headers, body: (await res.json()) as Record<string, unknown> }
}
