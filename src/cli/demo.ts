import { mkdtempSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { DEFAULT_PORT, parseConfig } from '../config.js'
import { startDaemon, type Daemon } from '../daemon.js'
import { getFlowByState, isFlowEnded } from '../db/oauth-flows.js'
import { INTEGRATIONS } from '../integrations/index.js'
import type { DemoPart, Integration } from '../integrations/types.js'
import { createLogger } from '../log.js'
import { startFlow } from '../oauth/flow.js'
import type { Output } from './output.js'

async function portFree(port: number): Promise<boolean> {
  const server = createServer()
  return new Promise((resolve) => {
    server.once('error', () => resolve(false))
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)))
  })
}

async function anyFreePort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  await new Promise<void>((resolve) => server.close(() => resolve()))
  return port
}

/**
 * Which integrations to show: `which` when given ('both' = every one), else the answer to `ask`
 * (a terminal), else the first (a script or a test: the demo never waits on stdin).
 */
export async function pickDemo(which: string | undefined, ask: ((question: string) => Promise<string>) | undefined, integrations: readonly Integration[] = INTEGRATIONS): Promise<Integration[]> {
  const offered = integrations.filter((i) => i.demo)
  let choice = which
  if (choice === undefined && ask) {
    const menu = [...offered.map((i, n) => `${n + 1}) ${i.id}`), `${offered.length + 1}) both`].join('  ')
    const answer = (await ask(`Which would you like to try? ${menu} [1]: `)).trim().toLowerCase()
    const n = Number(answer || '1')
    choice = Number.isInteger(n) && n >= 1 && n <= offered.length + 1 ? (offered[n - 1]?.id ?? 'both') : answer
  }
  if (choice === undefined) return offered.slice(0, 1)
  if (choice === 'both') return offered
  const one = offered.find((i) => i.id === choice)
  if (!one) throw new RangeError(`"${choice}" is not one of ${[...offered.map((i) => i.id), 'both'].join(', ')}`)
  return [one]
}

/** Resolves with the flow's final status ('stopped' when `signal` aborts first). */
function flowEnd(daemon: Daemon, state: string, signal: AbortSignal | undefined): Promise<string> {
  return new Promise<string>((resolve) => {
    const check = () => {
      const current = getFlowByState(daemon.deps.db, state)?.status ?? 'failed'
      if (!isFlowEnded(current) && !signal?.aborted) return
      daemon.deps.events.off('flow-changed', check)
      clearInterval(timer)
      resolve(signal?.aborted ? 'stopped' : current)
    }
    const timer = setInterval(check, 1_000)
    daemon.deps.events.on('flow-changed', check)
    signal?.addEventListener('abort', check)
  })
}

/**
 * `latchkey demo [dexcom|oura|both]` (`npm run demo`): the whole product on loopback with no
 * account and no network. Starts the chosen integrations' simulators and the daemon with a
 * generated config in a temp directory, prints one link per integration, and once each sandbox
 * login is done, syncs and prints what came. Runs until Ctrl+C (or `signal`).
 */
export async function demoCommand(
  env: Record<string, string | undefined>,
  out: Output,
  opts: { signal?: AbortSignal; which?: string; ask?: (question: string) => Promise<string> } = {},
): Promise<number> {
  let chosen: Integration[]
  try {
    chosen = await pickDemo(opts.which, opts.ask)
  } catch (err) {
    out.error((err as Error).message)
    return 2
  }
  const parts: DemoPart[] = await Promise.all(chosen.map(async (i) => (await i.demo?.()) as DemoPart))
  const dir = env.LATCHKEY_DEMO_DIR ?? mkdtempSync(join(tmpdir(), 'latchkey-demo-'))
  const port = (await portFree(DEFAULT_PORT)) ? DEFAULT_PORT : await anyFreePort()
  const publicUrl = `http://127.0.0.1:${port}`
  const sims = await Promise.all(parts.map((p) => p.start(`${publicUrl}/oauth/callback`)))
  const raw: Record<string, unknown> = {
    listen: { host: '127.0.0.1', port },
    dataDir: join(dir, 'data'),
    authFile: join(dir, 'auth.json'),
    logLevel: 'warn',
    ...Object.assign({}, ...sims.map((s) => s.config)),
    providers: Object.assign({}, ...sims.map((s) => s.config.providers)),
  }
  const configPath = join(dir, 'config.json')
  writeFileSync(configPath, `${JSON.stringify(raw, null, 2)}\n`, { mode: 0o600 })
  // Only HOME from the user's environment: a TELEGRAM_BOT_TOKEN or provider credentials set for
  // their real daemon must not change the demo.
  const config = parseConfig(raw, { ...(env.HOME ? { HOME: env.HOME } : {}) }, configPath)
  const daemon = await startDaemon(config, { log: createLogger('warn') })
  try {
    const flows = parts.map((p) => startFlow(daemon.deps, { provider: p.provider }))
    const links = parts.map((p, i) => `${p.name}: open this link in a browser on this machine, ${p.pick}:\n\n  ${flows[i]?.startUrl}\n`)
    out.info(
      `latchkey demo: the daemon is on ${publicUrl}; simulators: ${parts.map((p, i) => `${p.provider} on ${sims[i]?.url}`).join(', ')}\n` +
        `config: ${configPath}\n\n${links.join('\n')}\nWaiting for you to approve… (expires in 10 min; Ctrl+C to stop)`,
    )
    // Each part reports once its own link is approved; one at a time, so their lines do not mix.
    let printing = Promise.resolve(true)
    const results = await Promise.all(
      parts.map(async (p, i) => {
        const status = await flowEnd(daemon, (flows[i] as { state: string }).state, opts.signal)
        if (status !== 'connected') {
          out.error(status === 'stopped' ? `stopped before the ${p.provider} link was approved` : `the ${p.provider} connection ended as ${status}`)
          return false
        }
        const shown = printing.then(() => {
          out.info('')
          return p.show(daemon.deps, out, env)
        })
        printing = shown.catch(() => false)
        return shown
      }),
    )
    if (results.includes(false)) return 1
    out.info(`\nThe daemon keeps syncing. Try: ${parts.map((p) => p.tryNext).join(' or ')} (LATCHKEY_CONFIG=${configPath}). Ctrl+C to stop.`)
    await new Promise<void>((resolve) => {
      if (opts.signal) opts.signal.addEventListener('abort', () => resolve(), { once: true })
      process.once('SIGINT', () => resolve())
      process.once('SIGTERM', () => resolve())
    })
    return 0
  } finally {
    await daemon.close()
    await Promise.all(sims.map((s) => s.close()))
  }
}
