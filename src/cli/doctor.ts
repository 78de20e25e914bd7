import { readFileSync, statSync } from 'node:fs'
import { dirname, join } from 'node:path'
import type { Config } from '../config.js'
import { tailscaleServeStatus, tailscaleStatus } from '../tailscale.js'
import { CERT_WARNING_DAYS, certificateInfo, readCertificateFiles } from '../tls/certificate.js'
import { isLoopbackHost } from '../url.js'
import type { Output } from './output.js'

type Verdict = 'ok' | 'fail' | 'skip'
interface Check {
  verdict: Verdict
  text: string
}

const ICON: Record<Verdict, string> = { ok: '✅', fail: '❌', skip: '➖' }
const HEALTH_TIMEOUT_MS = 5_000

function modeCheck(label: string, path: string, want: number): Check {
  let mode: number
  try {
    mode = statSync(path).mode & 0o777
  } catch {
    return { verdict: 'skip', text: `${label} ${path} does not exist yet` }
  }
  if ((mode & ~want) === 0) return { verdict: 'ok', text: `${label} ${path} is ${mode.toString(8)}` }
  return { verdict: 'fail', text: `${label} ${path} is ${mode.toString(8)}, readable by others: chmod ${want.toString(8)} ${path}` }
}

/** auth.json must parse as a JSON object: latchkey refuses to write over anything else. */
function authFileCheck(path: string): Check {
  let text: string
  try {
    text = readFileSync(path, 'utf8')
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    if (code === 'ENOENT') return { verdict: 'skip', text: `auth file ${path} does not exist yet (the first connect writes it)` }
    return { verdict: 'fail', text: `auth file ${path} cannot be read (${code ?? 'unknown error'}): check its owner and mode` }
  }
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch {
    value = undefined
  }
  if (typeof value === 'object' && value !== null && !Array.isArray(value))
    return { verdict: 'ok', text: `auth file ${path} is a valid JSON object (${Object.keys(value).length} entries)` }
  return {
    verdict: 'fail',
    text: `auth file ${path} is not a valid JSON object, so latchkey will not write tokens to it: repair it by hand, or move it away (mv ${path} ${path}.bad) to start empty`,
  }
}

function certificateChecks(config: Config, now: number): Check[] {
  const tls = config.tls
  if (tls.mode === 'tailscale-serve')
    return [{ verdict: 'ok', text: `TLS is terminated by tailscale serve; latchkey listens on ${config.listen.host}:${config.listen.port} only` }]
  if (tls.mode === 'none') {
    const loopback = isLoopbackHost(new URL(config.publicUrl).hostname)
    return [
      loopback
        ? { verdict: 'skip', text: `no TLS: plain HTTP on ${config.publicUrl}, reachable from this machine only (see README "Run it on your tailnet")` }
        : { verdict: 'fail', text: `publicUrl ${config.publicUrl} is https but no tls is configured: set tls.certFile/keyFile or tls: "tailscale-serve"` },
    ]
  }
  let info
  try {
    info = certificateInfo(readCertificateFiles(tls.certFile, tls.keyFile).cert)
  } catch (err) {
    return [{ verdict: 'fail', text: `certificate ${tls.certFile} / key ${tls.keyFile} unusable (${(err as Error).message}): run tailscale cert --cert-file ${tls.certFile} --key-file ${tls.keyFile} <host>` }]
  }
  const host = new URL(config.publicUrl).hostname
  const days = info.daysLeft(now)
  return [
    { verdict: 'ok', text: `certificate ${tls.certFile} readable, key matches` },
    info.matchesHost(host)
      ? { verdict: 'ok', text: `certificate is valid for ${host}` }
      : { verdict: 'fail', text: `certificate is not valid for ${host} (publicUrl): get one with tailscale cert ${host}` },
    days >= CERT_WARNING_DAYS
      ? { verdict: 'ok', text: `certificate has ${days} days left` }
      : { verdict: 'fail', text: `certificate ${days < 0 ? 'has expired' : `has only ${days} days left`}: run tailscale cert again${tls.renewCommand ? '' : ', or set tls.renewCommand'}` },
  ]
}

async function tailnetChecks(config: Config, env: Record<string, string | undefined>): Promise<Check[]> {
  const status = await tailscaleStatus(env)
  if (status.kind === 'missing')
    return [{ verdict: 'skip', text: 'tailscale is not installed: tailnet checks skipped (install it to reach latchkey from your phone)' }]
  if (status.kind === 'error') return [{ verdict: 'fail', text: status.message }]
  const checks: Check[] = []
  const running = status.value.BackendState === 'Running'
  checks.push(
    running
      ? { verdict: 'ok', text: 'tailscale is installed and logged in' }
      : { verdict: 'fail', text: `tailscale is not connected (state ${status.value.BackendState}): run tailscale up` },
  )
  const url = new URL(config.publicUrl)
  const dnsName = (status.value.Self?.DNSName ?? '').replace(/\.$/, '')
  if (!isLoopbackHost(url.hostname))
    checks.push(
      dnsName && dnsName === url.hostname
        ? { verdict: 'ok', text: `publicUrl's host ${url.hostname} is this machine's MagicDNS name` }
        : { verdict: 'fail', text: `publicUrl's host ${url.hostname} is not this machine's MagicDNS name (${dnsName || 'unknown'}): set publicUrl to https://${dnsName || '<host>.<tailnet>.ts.net'}:${url.port || 443}` },
    )
  const serve = await tailscaleServeStatus(env)
  if (serve.kind === 'ok') {
    const port = url.port || (url.protocol === 'https:' ? '443' : '80')
    const funneled = Object.entries(serve.value.AllowFunnel ?? {}).filter(([hostPort, on]) => on && hostPort.endsWith(`:${port}`))
    checks.push(
      funneled.length
        ? { verdict: 'fail', text: `Tailscale Funnel exposes ${funneled.map(([hp]) => hp).join(', ')} to the internet: run tailscale funnel --https=${port} off` }
        : { verdict: 'ok', text: `Funnel is off for port ${port}` },
    )
  } else if (serve.kind === 'error') checks.push({ verdict: 'fail', text: serve.message })
  return checks
}

async function healthCheck(config: Config): Promise<Check> {
  const url = `${config.publicUrl}/healthz`
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(HEALTH_TIMEOUT_MS) })
    if (res.ok) return { verdict: 'ok', text: `the daemon answers ${url}` }
    return { verdict: 'fail', text: `${url} answered HTTP ${res.status}: check allowedNetworks and the tailscale serve settings` }
  } catch (err) {
    const cause = (err as { cause?: { code?: string } }).cause?.code ?? (err as Error).name
    return { verdict: 'fail', text: `the daemon does not answer ${url} (${cause}): is "latchkey serve" running?` }
  }
}

/**
 * `latchkey doctor`: one line per check, ✅ / ❌ with the fix / ➖ skipped. Exit 1 when any
 * check fails. The config itself was validated before this runs (main reports a bad one).
 */
export async function doctorCommand(config: Config, env: Record<string, string | undefined>, out: Output, now = Date.now()): Promise<number> {
  const checks: Check[] = [
    { verdict: 'ok', text: `config ${config.fromFile ? config.configPath : '(defaults: no config file)'} is valid` },
    ...certificateChecks(config, now),
    ...(await tailnetChecks(config, env)),
    await healthCheck(config),
    modeCheck('auth directory', dirname(config.authFile), 0o700),
    modeCheck('auth file', config.authFile, 0o600),
    authFileCheck(config.authFile),
    modeCheck('database', config.dbFile, 0o600),
    modeCheck('API token file', join(config.dataDir, 'api-token'), 0o600),
  ]
  for (const c of checks) out.info(`${ICON[c.verdict]} ${c.text}`)
  return checks.some((c) => c.verdict === 'fail') ? 1 : 0
}
