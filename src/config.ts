import { readFileSync } from 'node:fs'
import { isIP } from 'node:net'
import { join } from 'node:path'
import { z } from 'zod'
import { AppError } from './errors.js'
import { DB_FILE_NAME, DEFAULT_PATHS, configPathFrom, expandHome } from './paths.js'
import { BUILT_IN_PROVIDERS } from './providers/catalog.js'
import { PROVIDER_ID_PATTERN, ProviderOverrideSchema, buildProvider, type Provider, type ProviderOverride } from './providers/schema.js'
import { splitUrlEntries, type UrlProviderEntry } from './providers/url-entry.js'
import { SecureUrlSchema, isLoopbackHost } from './url.js'
import { DEFAULT_DEXCOM_CONFIG, DexcomConfigSchema, type DexcomConfig } from './integrations/dexcom/config.js'
import { BrokerConfigSchema, DEFAULT_BROKER_CONFIG, type BrokerConfig } from './broker/config.js'

export const DEFAULT_PORT = 8400
/** Tailscale's CGNAT and ULA ranges plus loopback (oauth-security.md §2). */
export const DEFAULT_ALLOWED_NETWORKS = ['100.64.0.0/10', 'fd7a:115c:a1e0::/48', '127.0.0.0/8', '::1/128']

const CidrSchema = z.string().refine((value) => {
  const [address, bits, extra] = value.split('/')
  const family = isIP(address ?? '')
  if (!family || extra !== undefined) return false
  if (bits === undefined) return true
  const n = Number(bits)
  return /^\d+$/.test(bits) && n <= (family === 4 ? 32 : 128)
}, 'expected an IP address or CIDR range like 100.64.0.0/10')

/** A token as @BotFather issues it; never echoed in an error (it is a credential). */
const BOT_TOKEN_PATTERN = /^\d{1,20}:[A-Za-z0-9_-]{20,100}$/

const ConfigFileSchema = z
  .object({
    publicUrl: z.string().superRefine((v, ctx) => {
      // Say how to fix it: this is the one URL every user has to get right.
      if (!SecureUrlSchema.safeParse(v).success)
        ctx.addIssue({ code: 'custom', message: `expected an https URL, got ${JSON.stringify(v)} (use this machine's tailnet name, like https://host.tailnet.ts.net:8400; plain http only on loopback)` })
    }).refine((v) => {
      try {
        const u = new URL(v)
        return u.pathname === '/' && !u.search
      } catch {
        return true // SecureUrlSchema reports it
      }
    }, 'expected an origin only, like https://host.tailnet.ts.net:8400').optional(),
    listen: z
      .object({
        host: z.string().min(1).default('127.0.0.1'),
        port: z.number().int().min(0).max(65535).default(DEFAULT_PORT),
      })
      .strict()
      .default({ host: '127.0.0.1', port: DEFAULT_PORT }),
    allowedNetworks: z.array(CidrSchema).min(1).default(DEFAULT_ALLOWED_NETWORKS),
    /**
     * TLS: certificate files as written by `tailscale cert` (served and hot-reloaded by the
     * daemon), or "tailscale-serve" when `tailscale serve` terminates TLS in front of a
     * loopback listener.
     */
    tls: z
      .union([
        z.literal('tailscale-serve'),
        z
          .object({
            certFile: z.string().min(1),
            keyFile: z.string().min(1),
            /** Run daily, e.g. `tailscale cert --cert-file … --key-file … host.tailnet.ts.net`. */
            renewCommand: z.string().min(1).optional(),
          })
          .strict(),
      ])
      .optional(),
    /** Behind tailscale serve: the Tailscale logins allowed in (any tailnet user when absent). */
    allowedTailnetUsers: z.array(z.string().min(1)).min(1).optional(),
    dataDir: z.string().min(1).default(DEFAULT_PATHS.dataDir),
    authFile: z.string().min(1).default(DEFAULT_PATHS.authFile),
    apiToken: z.string().min(32, 'expected at least 32 characters').max(512).optional(),
    logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
    /** How often the resolve-pending safety net runs, besides running at once on each callback. */
    resolveIntervalMs: z.number().int().min(200).max(600_000).default(5_000),
    /** How often tokens close to expiry are renewed. */
    refreshIntervalMs: z.number().int().min(1_000).max(3_600_000).default(60_000),
    /** The Telegram bot: served only to these numeric user ids, in private chats (oauth-security.md T1). */
    telegram: z
      .object({
        token: z.string().regex(BOT_TOKEN_PATTERN, 'expected a bot token from @BotFather, like 123456:ABC-DEF…').optional(),
        allowedUserIds: z.array(z.number().int().positive()).default([]),
        /** Another Bot API server (a self-hosted one, or a test peer); origin and path, no trailing slash. */
        apiRoot: SecureUrlSchema.refine((v) => !v.endsWith('/'), 'expected no trailing slash').optional(),
      })
      .strict()
      .default({ allowedUserIds: [] }),
    /** Glucose sync and display (src/integrations/dexcom/config.ts). */
    dexcom: DexcomConfigSchema.default(DEFAULT_DEXCOM_CONFIG),
    /** Limits of /proxy and the MCP tools (src/broker/config.ts). */
    broker: BrokerConfigSchema.default(DEFAULT_BROKER_CONFIG),
    providers: z
      .record(z.string().regex(PROVIDER_ID_PATTERN, 'expected lower-case letters, digits and dashes'), ProviderOverrideSchema)
      .default({}),
  })
  .strict()

export type ConfigFile = z.input<typeof ConfigFileSchema>

/** The bot's settings; `token` undefined means the daemon runs without the bot. */
export interface TelegramConfig {
  readonly token: string | undefined
  readonly allowedUserIds: readonly number[]
  readonly apiRoot: string | undefined
}

/** How HTTPS reaches latchkey: not at all (loopback only), our own certificate, or tailscale serve. */
export type TlsConfig =
  | { readonly mode: 'none' }
  | { readonly mode: 'files'; readonly certFile: string; readonly keyFile: string; readonly renewCommand: string | undefined }
  | { readonly mode: 'tailscale-serve' }

/** The validated, resolved configuration: paths absolute, providers merged with the catalog. */
export interface Config {
  readonly configPath: string
  /** False when no config file existed and every default applies. */
  readonly fromFile: boolean
  readonly publicUrl: string
  readonly redirectUri: string
  readonly listen: { readonly host: string; readonly port: number }
  readonly allowedNetworks: readonly string[]
  readonly tls: TlsConfig
  readonly allowedTailnetUsers: readonly string[] | undefined
  readonly dataDir: string
  readonly dbFile: string
  readonly authFile: string
  readonly apiToken: string | undefined
  readonly logLevel: string
  readonly resolveIntervalMs: number
  readonly refreshIntervalMs: number
  readonly telegram: TelegramConfig
  readonly dexcom: DexcomConfig
  readonly broker: BrokerConfig
  readonly providers: Readonly<Record<string, Provider>>
  /** `providers.<id>` entries with a `url`: hand-registered clients for servers connected by URL. */
  readonly urlProviders: Readonly<Record<string, UrlProviderEntry>>
}

type Env = Record<string, string | undefined>

/** `dexcom-eu` reads LATCHKEY_DEXCOM_EU_CLIENT_ID and LATCHKEY_DEXCOM_EU_CLIENT_SECRET. */
export function providerEnvPrefix(providerId: string): string {
  return `LATCHKEY_${providerId.toUpperCase().replaceAll('-', '_')}_`
}

function formatIssue(path: readonly PropertyKey[], message: string): string {
  return `${path.length ? path.map(String).join('.') : '(config)'}: ${message}`
}

/**
 * Reads the config file (`LATCHKEY_CONFIG`, default ~/.config/latchkey/config.json) and the
 * environment. Every key is optional; all problems are reported together in one CONFIG_INVALID.
 */
export function loadConfig(env: Env = process.env): Config {
  const configPath = configPathFrom(env)
  let text: string
  try {
    text = readFileSync(configPath, 'utf8')
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    if (code === 'ENOENT' && env.LATCHKEY_CONFIG === undefined) return parseConfig({}, env, configPath, false)
    if (code === 'ENOENT') throw new AppError('CONFIG_INVALID', `${configPath}: file not found (set by LATCHKEY_CONFIG)`)
    throw new AppError('CONFIG_INVALID', `${configPath}: cannot read (${code ?? 'unknown error'})`)
  }
  let raw: unknown
  try {
    raw = JSON.parse(text)
  } catch (err) {
    throw new AppError('CONFIG_INVALID', `${configPath}: not valid JSON (${describeJsonError(err as SyntaxError, text)})`)
  }
  return parseConfig(raw, env, configPath, true)
}

/**
 * V8's JSON errors quote the text around the fault, which in a config file may be a secret: say
 * what went wrong and where (line and column), never the file's own text.
 */
export function describeJsonError(err: SyntaxError, text: string): string {
  const position = jsonErrorPosition(err.message, text)
  const what = err.message
    .replace(/ in JSON at position \d+.*$/s, '')
    .replace(/^Unexpected token .*$/s, 'Unexpected character')
    .replace(/, ".*$/s, '')
  if (position === undefined) return what
  const before = text.slice(0, position)
  const line = before.split('\n').length
  const column = before.length - before.lastIndexOf('\n')
  return `${what} at line ${line}, column ${column}`
}

/** Where V8 says the fault is: "at position N", or found from the excerpt it quotes (10 characters before the fault). */
function jsonErrorPosition(message: string, text: string): number | undefined {
  const at = /at position (\d+)/.exec(message)
  if (at) return Number(at[1])
  const quoted = /^Unexpected token '(.)', (\.\.\.)?"(.*?)"(\.\.\.)? is not valid JSON$/s.exec(message)
  if (!quoted) return undefined
  const [, token = '', dots, excerpt = ''] = quoted
  const start = text.indexOf(excerpt)
  if (start < 0) return undefined
  return start + (dots ? 10 : excerpt.indexOf(token))
}

function resolveTls(tls: z.infer<typeof ConfigFileSchema>['tls'], env: Env): TlsConfig {
  if (tls === undefined) return { mode: 'none' }
  if (tls === 'tailscale-serve') return { mode: 'tailscale-serve' }
  return { mode: 'files', certFile: expandHome(tls.certFile, env), keyFile: expandHome(tls.keyFile, env), renewCommand: tls.renewCommand }
}

/**
 * Rules that span several keys. They read the raw input, so they also run when other keys
 * are invalid and a single run lists every problem.
 */
function crossKeyChecks(raw: unknown, problems: string[]): void {
  const r = (typeof raw === 'object' && raw !== null ? raw : {}) as Record<string, unknown>
  const listen = (typeof r.listen === 'object' && r.listen !== null ? r.listen : {}) as Record<string, unknown>
  const host = typeof listen.host === 'string' ? listen.host : '127.0.0.1'
  if (r.publicUrl === undefined && !isLoopbackHost(host))
    problems.push(formatIssue(['publicUrl'], `required when listen.host is not loopback (got ${JSON.stringify(host)})`))
  if (r.tls === 'tailscale-serve' && !isLoopbackHost(host))
    problems.push(formatIssue(['listen', 'host'], `must be loopback behind tailscale serve (got ${JSON.stringify(host)}), so that only serve can reach it`))
  // Off loopback the URL schema already demands https; on loopback it allows http, but not with tls.
  if (r.tls !== undefined && typeof r.publicUrl === 'string' && r.publicUrl.startsWith('http:'))
    problems.push(formatIssue(['publicUrl'], `must be https when tls is set (got ${JSON.stringify(r.publicUrl)})`))
  // https on a public name while listening on loopback with no tls: only a proxy on this machine
  // (tailscale serve) can be in front, and without serve mode its Funnel traffic would pass as local.
  if (r.tls === undefined && typeof r.publicUrl === 'string' && isLoopbackHost(host) && isHttpsOffLoopback(r.publicUrl))
    problems.push(
      formatIssue(
        ['tls'],
        `required when publicUrl is https (${JSON.stringify(r.publicUrl)}) and latchkey listens on loopback: behind tailscale serve set tls: "tailscale-serve"; to terminate TLS here set tls.certFile and tls.keyFile`,
      ),
    )
  if (r.allowedTailnetUsers !== undefined && r.tls !== 'tailscale-serve')
    problems.push(formatIssue(['allowedTailnetUsers'], 'only applies with tls: "tailscale-serve" (serve names the user; a direct connection does not)'))
}

function isHttpsOffLoopback(value: string): boolean {
  try {
    const url = new URL(value)
    return url.protocol === 'https:' && !isLoopbackHost(url.hostname)
  } catch {
    return false // the URL schema reports it
  }
}

/** Built-ins overlaid with config entries and environment credentials; problems are collected. */
function mergeProviders(entries: Record<string, ProviderOverride>, env: Env, problems: string[]): Record<string, Provider> {
  const providers: Record<string, Provider> = {}
  const ids = new Set([...Object.keys(BUILT_IN_PROVIDERS), ...Object.keys(entries)])
  for (const id of [...ids].sort()) {
    const prefix = providerEnvPrefix(id)
    const fromEnv = {
      ...(env[`${prefix}CLIENT_ID`] ? { clientId: env[`${prefix}CLIENT_ID`] } : {}),
      ...(env[`${prefix}CLIENT_SECRET`] ? { clientSecret: env[`${prefix}CLIENT_SECRET`] } : {}),
    }
    try {
      providers[id] = buildProvider(id, BUILT_IN_PROVIDERS[id] ?? {}, entries[id] ?? {}, fromEnv)
    } catch (err) {
      if (!(err instanceof z.ZodError)) throw err
      for (const issue of err.issues) {
        const message = issue.code === 'invalid_type' && issue.input === undefined ? 'required for a provider that is not built in' : issue.message
        problems.push(formatIssue(['providers', id, ...issue.path], message))
      }
    }
  }
  return providers
}

/** Validates an already-read config object; exported for tests and for `latchkey doctor`. */
export function parseConfig(original: unknown, env: Env = {}, configPath = '(inline)', fromFile = true): Config {
  const problems: string[] = []
  const { rest: raw, urlProviders } = splitUrlEntries(original, problems)
  const parsed = ConfigFileSchema.safeParse(raw)
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      // zod reports a bad record key as "Invalid key in record"; the key's own rule says more.
      const message = issue.code === 'invalid_key' ? (issue.issues[0]?.message ?? issue.message) : issue.message
      problems.push(formatIssue(issue.path, message))
    }
    crossKeyChecks(raw, problems)
    // Still report what each well-formed provider entry lacks, so one run lists every problem.
    const entries = (raw as { providers?: unknown } | null)?.providers
    if (entries && typeof entries === 'object') {
      const valid = Object.entries(entries).filter(([id, e]) => PROVIDER_ID_PATTERN.test(id) && ProviderOverrideSchema.safeParse(e).success)
      mergeProviders(Object.fromEntries(valid), env, problems)
    }
    throw new AppError('CONFIG_INVALID', `invalid config ${configPath}:\n  ${problems.join('\n  ')}`)
  }
  const file = parsed.data
  const providers = mergeProviders(file.providers, env, problems)
  if (!Object.hasOwn(providers, file.dexcom.provider))
    problems.push(formatIssue(['dexcom', 'provider'], `unknown provider ${JSON.stringify(file.dexcom.provider)}`))

  crossKeyChecks(raw, problems)
  const envToken = env.LATCHKEY_API_TOKEN
  if (envToken !== undefined && envToken !== '' && (envToken.length < 32 || envToken.length > 512))
    problems.push('LATCHKEY_API_TOKEN (environment): expected 32 to 512 characters')
  const botToken = env.TELEGRAM_BOT_TOKEN || file.telegram.token
  if (env.TELEGRAM_BOT_TOKEN && !BOT_TOKEN_PATTERN.test(env.TELEGRAM_BOT_TOKEN))
    problems.push('TELEGRAM_BOT_TOKEN (environment): expected a bot token from @BotFather, like 123456:ABC-DEF…')
  if (botToken && file.telegram.allowedUserIds.length === 0)
    problems.push(formatIssue(['telegram', 'allowedUserIds'], 'required when a bot token is set: the numeric Telegram user ids the bot may serve'))
  const port = file.listen.port
  // Without publicUrl (only allowed on loopback, checked above) the listen address is it.
  const publicUrl = file.publicUrl ?? `http://${file.listen.host.includes(':') ? `[${file.listen.host}]` : file.listen.host}:${port}`
  if (problems.length) throw new AppError('CONFIG_INVALID', `invalid config ${configPath}:\n  ${problems.join('\n  ')}`)

  const origin = new URL(publicUrl).origin
  const dataDir = expandHome(file.dataDir, env)
  return Object.freeze({
    configPath,
    fromFile,
    publicUrl: origin,
    redirectUri: `${origin}/oauth/callback`,
    listen: Object.freeze({ host: file.listen.host, port }),
    allowedNetworks: Object.freeze([...file.allowedNetworks]),
    tls: resolveTls(file.tls, env),
    allowedTailnetUsers: file.allowedTailnetUsers ? Object.freeze([...file.allowedTailnetUsers]) : undefined,
    dataDir,
    dbFile: join(dataDir, DB_FILE_NAME),
    authFile: expandHome(file.authFile, env),
    apiToken: env.LATCHKEY_API_TOKEN || file.apiToken,
    logLevel: file.logLevel,
    resolveIntervalMs: file.resolveIntervalMs,
    refreshIntervalMs: file.refreshIntervalMs,
    telegram: Object.freeze({
      token: botToken || undefined,
      allowedUserIds: Object.freeze([...file.telegram.allowedUserIds]),
      apiRoot: file.telegram.apiRoot,
    }),
    dexcom: Object.freeze({ ...file.dexcom }),
    broker: Object.freeze({ ...file.broker }),
    // Not frozen: "connect <url>" adds the providers it discovers (src/discovery/install.ts).
    providers,
    urlProviders: Object.freeze({ ...urlProviders }),
  })
}
