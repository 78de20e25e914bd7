import { Argument, Command, CommanderError, InvalidArgumentError } from 'commander'
import type { Config } from '../config.js'
import type { Db } from '../db/open.js'
import { AppError } from '../errors.js'
import { INTEGRATIONS } from '../integrations/index.js'
import type { CliContext } from '../integrations/types.js'
import { consoleOutput, type Output } from './output.js'
import { parseSince } from '../time-format.js'
import { packageVersion } from './version.js'

// Every command's module is imported in its action: fastify, grammY, Bree, zod and the simulator
// are paid for only by the command that uses them, and commands are parsed before any config is
// read (an unknown command is a usage error whatever the config says).

/** Exit codes shared by every command (`token` adds 5–7, see token.ts). */
export const EXIT = { ok: 0, failed: 1, usage: 2, config: 3, unreachable: 4 } as const

type Env = Record<string, string | undefined>

const FOOTER = `
Exit codes: 0 ok, 1 failed (status: something needs attention), 2 usage, 3 bad config,
4 daemon unreachable; token also 5 not connected, 6 needs reconnecting, 7 provider unreachable.
Config: $LATCHKEY_CONFIG (default ~/.config/latchkey/config.json).
Run "latchkey <command> --help" for a command's options and examples.`

/** The text after a command's options: an optional note, then examples. */
function after(note: string | undefined, ...examples: string[]): string {
  return `${note ? `\n${note}\n` : ''}\nExamples:\n${examples.map((l) => `  $ ${l}`).join('\n')}`
}

async function loadConfigFor(env: Env): Promise<Config> {
  return (await import('../config.js')).loadConfig(env)
}

/** Opens the database for one local command and always closes it. */
async function withDb<T>(config: Config, fn: (db: Db) => T | Promise<T>): Promise<T> {
  const db = (await import('../db/open.js')).openDb(config.dbFile)
  // Providers found by "connect <url>" are listed and used like the rest.
  ;(await import('../discovery/install.js')).installDiscoveredProviders(config, db)
  try {
    return await fn(db)
  } finally {
    db.close()
  }
}

function intInRange(name: string, min: number, max: number): (value: string) => number {
  return (value) => {
    const n = Number(value)
    if (!/^\d+$/.test(value) || n < min || n > max) throw new InvalidArgumentError(`${name} must be a whole number from ${min} to ${max}.`)
    return n
  }
}

function collectUrl(value: string, previous: string[] | undefined): string[] {
  if (!URL.canParse(value)) throw new InvalidArgumentError(`not a URL: ${JSON.stringify(value)}`)
  return [...(previous ?? []), value]
}

function sinceArg(value: string): string {
  // Checked here so a bad --since is a usage error; the command resolves it against its clock.
  if (parseSince(value, 0) === undefined)
    throw new InvalidArgumentError('expected a duration back from now (30m, 24h, 7d, 2w) or an ISO 8601 time (2026-01-31T08:00Z).')
  return value
}

/** The command tree; each action sets the exit code through `done`. */
function buildProgram(env: Env, out: Output, done: (code: number) => void): Command {
  const program = new Command('latchkey')
  program
    .description('Connect OAuth 2.0 providers from a chat or a terminal, and keep their tokens fresh in auth.json.')
    .version(packageVersion(), '-v, --version', 'print the version')
    .helpOption('-h, --help', 'show help for a command')
    .configureOutput({
      writeOut: (s) => out.info(s.replace(/\n$/, '')),
      writeErr: (s) => out.error(s.replace(/\n$/, '')),
    })
    .exitOverride()
    .showSuggestionAfterError(true)
    .showHelpAfterError('(add --help for usage and examples)')
    .addHelpText('after', FOOTER)

  program
    .command('serve')
    .description('run the daemon: the HTTP callback server, the scheduler and the bot')
    .addHelpText('after', after(undefined, 'latchkey serve', 'pm2 start ecosystem.config.cjs   # the same, under pm2'))
    .action(async () => done(await (await import('./serve.js')).serveCommand(await loadConfigFor(env))))

  program
    .command('connect')
    .description('connect a provider through the running daemon: prints a link, waits for your approval')
    .argument('<provider>', 'a provider id (see "latchkey providers"), or the URL of an MCP server or OAuth issuer')
    .addHelpText('after', after('Exit 0 connected, 1 failed or expired, 4 the daemon is not running.', 'latchkey connect dexcom', 'latchkey connect github', 'latchkey connect https://mcp.example.com/mcp'))
    .action(async (provider: string) => done(await (await import('./connect.js')).connectCommand(await loadConfigFor(env), provider, out)))

  program
    .command('reconnect')
    .description('connect a provider again (a new flow); its tokens are replaced only when the new flow succeeds')
    .argument('<provider>', 'a provider id (see "latchkey status")')
    .addHelpText('after', after('Use it when status says "needs reconnecting", or to grant new scopes.', 'latchkey reconnect dexcom'))
    .action(async (provider: string) => done(await (await import('./connect.js')).connectCommand(await loadConfigFor(env), provider, out, { reconnect: true })))

  program
    .command('disconnect')
    .description("remove a provider's tokens from auth.json and revoke them at the provider when it can")
    .argument('<provider>', 'a provider id (see "latchkey status")')
    .option('--forget-credentials', 'also forget the client id and secret given in the chat')
    .option('--forget-client', 'for a connection made by URL: also delete the client latchkey registered at its server')
    .option('--json', 'print the outcome as JSON')
    .addHelpText(
      'after',
      after(
        `Every other key of auth.json is kept as it is. Revocation (RFC 7009) needs the provider's
revocationUrl; without one the grant stays valid at the provider until you remove it there.
Exit 1 when there was nothing to remove or revoking failed.`,
        'latchkey disconnect oura',
        'latchkey disconnect github --forget-credentials',
        'latchkey disconnect mcp-example-com --forget-client',
      ),
    )
    .action(async (provider: string, opts: { forgetCredentials?: boolean; forgetClient?: boolean; json?: boolean }) => {
      const config = await loadConfigFor(env)
      done(await (await import('./disconnect.js')).disconnectCommand(config, provider, opts, out))
    })

  program
    .command('token')
    .description('print a fresh access token alone on stdout, for scripts and agents')
    .argument('<provider>', 'a connected provider id')
    .option('--min-validity <seconds>', 'refresh first if the token expires within this many seconds (0-86400)', intInRange('--min-validity', 0, 86_400), 60)
    .addHelpText('after', after('Exit 5 not connected, 6 needs reconnecting, 7 provider unreachable.', 'curl -H "Authorization: Bearer $(latchkey token oura)" https://api.ouraring.com/v2/usercollection/personal_info', 'latchkey token dexcom --min-validity 600'))
    .action(async (provider: string, opts: { minValidity: number }) =>
      done(await (await import('./token.js')).tokenCommand(await loadConfigFor(env), provider, opts.minValidity, out)),
    )

  program
    .command('providers')
    .description('list known providers and whether each has client credentials')
    .option('--json', 'print a JSON array: id, name, hasClientId, hasClientSecret, usePkce, clientAuth, redirectMode, revocable')
    .addHelpText('after', after(undefined, 'latchkey providers', "latchkey providers --json | jq -r '.[] | select(.hasClientId) | .id'"))
    .action(async (opts: { json?: boolean }) => {
      const config = await loadConfigFor(env)
      const { providersCommand } = await import('./providers.js')
      done(await withDb(config, (db) => providersCommand(config, db, out, opts)))
    })

  program
    .command('status')
    .description('show every connection: state, token expiry, last refresh, granted scopes, late data')
    .option('--json', 'print a JSON array: provider, name, state, label, needsAttention, expiresAt, lastRefreshAt, scopes, missingScopes, reconsentDueAt, failedRefreshes, lastError, dataLate')
    .addHelpText(
      'after',
      after('Exit 1 when any connection needs attention: needs reconnecting, refresh failing, tokens missing, re-consent due within 3 days. Late data ("data late:", judged in $TZ) is shown but does not change the exit code.', 'latchkey status', "latchkey status --json | jq '.[] | select(.needsAttention)'"),
    )
    .action(async (opts: { json?: boolean }) => {
      const config = await loadConfigFor(env)
      const [{ statusCommand }, { systemClock }, { resolveTimeZone }] = await Promise.all([import('./status.js'), import('../clock.js'), import('../time-format.js')])
      done(await withDb(config, (db) => statusCommand({ config, db, clock: systemClock }, out, { ...opts, timeZone: resolveTimeZone(env) })))
    })

  program
    .command('doctor')
    .description('check config, certificate, tailnet exposure, /healthz and file modes')
    .addHelpText('after', after('One ✅ or ❌ line per check, with the fix; exit 1 on any ❌.', 'latchkey doctor'))
    .action(async () => {
      let config: Config
      try {
        config = await loadConfigFor(env)
      } catch (err) {
        if (!(err instanceof AppError)) throw err
        // A bad config is doctor's first failed check, one ❌ line per problem, not a crash.
        for (const line of err.message.split('\n')) out.info(`❌ ${line.trim()}`)
        return done(EXIT.failed)
      }
      done(await (await import('./doctor.js')).doctorCommand(config, env, out))
    })

  const agent = program.command('agent').description('agent tokens for /proxy and MCP: "agent add", "agent list", "agent remove"')
  agent
    .command('add')
    .description('create an agent token limited to --allow specs; prints the token alone on stdout, once')
    .argument('<name>', 'a name for the agent (lower-case letters, digits, - and _)')
    .requiredOption('--allow <spec>', '<connection>, <connection>:<METHODS> or <connection>:<METHODS>:<path prefix>; repeatable', (v: string, prev: string[] | undefined) => [...(prev ?? []), v])
    .addHelpText('after', after('METHODS is a comma list (GET,POST) or *; the prefix is matched against the path after /proxy/<connection>.', 'latchkey agent add claude --allow dexcom:GET:/v3/users/self/', 'latchkey agent add scripts --allow oura --allow github:GET,POST'))
    .action(async (name: string, opts: { allow: string[] }) => {
      const config = await loadConfigFor(env)
      const [{ agentAdd }, { systemClock }] = await Promise.all([import('./agent.js'), import('../clock.js')])
      done(await withDb(config, (db) => agentAdd({ db, clock: systemClock }, name, opts.allow, out)))
    })
  agent
    .command('list')
    .description("agents with their scopes, creation and last use (never a token)")
    .option('--json', 'print a JSON array')
    .addHelpText('after', after(undefined, 'latchkey agent list', 'latchkey agent list --json'))
    .action(async (opts: { json?: boolean }) => {
      const config = await loadConfigFor(env)
      const { agentList } = await import('./agent.js')
      done(await withDb(config, (db) => agentList({ db }, opts.json === true, out)))
    })
  agent
    .command('remove')
    .description("revoke an agent's token at once")
    .argument('<name>', 'the agent')
    .addHelpText('after', after('Exit 1 when there is no such agent.', 'latchkey agent remove claude'))
    .action(async (name: string) => {
      const config = await loadConfigFor(env)
      const { agentRemove } = await import('./agent.js')
      done(await withDb(config, (db) => agentRemove({ db }, name, out)))
    })

  program
    .command('audit')
    .description('requests agents made through /proxy and MCP: time, agent, connection, method, path, status, duration, bytes')
    .option('--since <when>', 'how far back: 30m, 24h, 7d, 2w or an ISO 8601 time', sinceArg, '24h')
    .option('--json', 'print a JSON array')
    .addHelpText('after', after('Records are kept 30 days; paths never include the query string.', 'latchkey audit', 'latchkey audit --since 7d --json'))
    .action(async (opts: { since: string; json?: boolean }) => {
      const config = await loadConfigFor(env)
      const [{ auditCommand }, { systemClock }] = await Promise.all([import('./audit.js'), import('../clock.js')])
      done(await withDb(config, (db) => auditCommand({ db, clock: systemClock }, opts, out)))
    })

  program
    .command('mcp')
    .description('MCP over stdio for agents, relayed to the running daemon (POST /mcp)')
    .addHelpText('after', after('Authenticates with $LATCHKEY_AGENT_TOKEN, else the API token (same user as the daemon).', 'LATCHKEY_AGENT_TOKEN=lka_… latchkey mcp', 'claude mcp add latchkey -e LATCHKEY_AGENT_TOKEN=lka_… -- latchkey mcp'))
    .action(async () => done(await (await import('./mcp.js')).mcpCommand(await loadConfigFor(env), env)))

  // Each integration adds its own commands (and its simulator under "simulate").
  const ctx: CliContext = { env, out, done, after, sinceArg, intInRange, collectUrl, loadConfig: () => loadConfigFor(env), withDb }
  for (const integration of INTEGRATIONS) integration.cli?.(program, ctx)
  const simulate = program
    .command('simulate')
    .description(`a local provider simulator (needs no config): ${INTEGRATIONS.filter((i) => i.simulate).map((i) => `"simulate ${i.id}"`).join(', ')}`)
  for (const integration of INTEGRATIONS) integration.simulate?.(simulate, ctx)

  const demoChoices = [...INTEGRATIONS.filter((i) => i.demo).map((i) => i.id), 'both']
  program
    .command('demo')
    .description('simulators and the daemon on loopback: connect a sandbox user in a browser and see the data (no account)')
    .addArgument(new Argument('[which]', 'which integration to try; asked in a terminal, else the first').choices(demoChoices))
    .addHelpText('after', after('Writes a config to a temp directory ($LATCHKEY_DEMO_DIR to choose) and ignores yours.', 'npm run demo', 'npm run demo -- oura', 'latchkey demo both'))
    .action(async (which: string | undefined) => {
      const { demoCommand } = await import('./demo.js')
      // Asked only on a terminal: piped or scripted runs never wait on stdin.
      const ask = process.stdin.isTTY && which === undefined ? await terminalQuestion() : undefined
      done(await demoCommand(env, out, { ...(which ? { which } : {}), ...(ask ? { ask } : {}) }))
    })

  return program
}

/** One question on the terminal (readline), closed after the answer. */
async function terminalQuestion(): Promise<(question: string) => Promise<string>> {
  const { createInterface } = await import('node:readline/promises')
  return async (question) => {
    const rl = createInterface({ input: process.stdin, output: process.stdout })
    try {
      return await rl.question(question)
    } finally {
      rl.close()
    }
  }
}

/** Runs one CLI invocation and returns its exit code (never calls process.exit itself). */
export async function main(argv: string[], env: Env = process.env, out: Output = consoleOutput): Promise<number> {
  let code: number = EXIT.ok
  const program = buildProgram(env, out, (c) => (code = c))
  try {
    await program.parseAsync(argv, { from: 'user' })
    return code
  } catch (err) {
    // --help and --version end as a CommanderError with exit code 0; every parse error is a usage error.
    if (err instanceof CommanderError) return err.exitCode === 0 ? EXIT.ok : EXIT.usage
    if (err instanceof AppError) {
      out.error(err.message)
      return err.code === 'CONFIG_INVALID' ? EXIT.config : err.code === 'DAEMON_UNREACHABLE' ? EXIT.unreachable : EXIT.failed
    }
    throw err
  }
}
