import type { FastifyInstance } from 'fastify'
import type { Server as HttpsServer } from 'node:https'
import { ensureApiToken } from './api-token.js'
import type { RunningBot } from './bot/service.js'
import { Broker } from './broker/broker.js'
import type { Config } from './config.js'
import { createDeps, type Deps } from './deps.js'
import { getFlowByState, hasActiveFlows } from './db/oauth-flows.js'
import { integrationForProvider } from './integrations/index.js'
import { buildServer } from './http/server.js'
import { inThreadJob } from './jobs/in-thread.js'
import { connectionsToRefresh, flowsToResolve, integrationConnected } from './jobs/due.js'
import { startScheduler, type Scheduler } from './jobs/scheduler.js'
import { resolvePending, type ResolveSummary } from './oauth/pending.js'
import { recoverAuthFile } from './store/auth-recovery.js'
import { AppError } from './errors.js'
import { listenWithRetry } from './http/listen.js'
import { readCertificateFiles } from './tls/certificate.js'
import { watchCertificate } from './tls/reloader.js'

/** How long close waits for open HTTP connections before cutting them (pm2 kills after 10 s anyway). */
const CLOSE_GRACE_MS = 3_000
/** resolve-pending's own Bree interval: a slow sweep (expiry, purge) when nothing is active. */
const IDLE_RESOLVE_INTERVAL_MS = 10 * 60 * 1000

export interface Daemon {
  app: FastifyInstance
  deps: Deps
  scheduler: Scheduler
  /** The Telegram bot, when a token is configured. */
  bot: RunningBot | undefined
  /** The address actually bound (useful with port 0). */
  url: string
  close(): Promise<void>
}

/**
 * The composition root: config → deps → HTTP server and scheduler. The callback's event runs
 * resolve-pending at once in this thread; Bree runs the same job in a worker as the safety net
 * (the watch below, and every 10 min). Results become flow-changed events for long-pollers and the bot.
 */
export async function startDaemon(config: Config, overrides: Partial<Omit<Deps, 'config'>> = {}): Promise<Daemon> {
  const deps = createDeps(config, overrides)
  const apiToken = ensureApiToken(config)
  // Tokens kept in the journal or a killed writer's temp file go into auth.json before anything reads it.
  const recovery = await recoverAuthFile(config.authFile, deps.log).catch((err: unknown) => {
    // A corrupt or unwritable file is reported by every command that uses it; the daemon still starts.
    deps.log.error({ reason: (err as Error).message }, 'auth file recovery failed')
    return { recovered: [], removed: [] }
  })
  for (const provider of recovery.recovered) deps.log.warn({ provider }, 'recovered tokens from a temp file left by a killed writer')
  for (const file of recovery.removed) deps.log.warn({ file }, 'removed a temp file left by a killed writer')
  const tlsFiles = config.tls.mode === 'files' ? config.tls : undefined
  let https
  try {
    https = tlsFiles && readCertificateFiles(tlsFiles.certFile, tlsFiles.keyFile)
  } catch (err) {
    deps.db.close()
    throw new AppError('CONFIG_INVALID', `cannot use the TLS certificate ${tlsFiles?.certFile} with key ${tlsFiles?.keyFile}: ${(err as Error).message}`)
  }
  let bot: RunningBot | undefined
  const broker = new Broker(deps)
  const app = await buildServer(deps, { apiToken, broker, telegramUsername: () => bot?.username(), ...(https ? { https } : {}) })
  const flowsChanged = (summary: ResolveSummary) => {
    for (const state of summary.changedStates) deps.events.emit('flow-changed', state)
  }
  const scheduler = await startScheduler(deps, [
    {
      name: 'resolve-pending',
      // The frequent safety net is the watch below; this only purges old flows when idle.
      intervalMs: IDLE_RESOLVE_INTERVAL_MS,
      onResult: (result) => flowsChanged(result as ResolveSummary),
      due: () => flowsToResolve(deps.db),
    },
    { name: 'refresh-tokens', intervalMs: config.refreshIntervalMs, due: () => connectionsToRefresh(deps.db) },
    // After refresh-tokens: one shared job file runs each integration's sync on its own schedule.
    ...deps.integrations.map((i) => ({
      name: `${i.id}-sync`,
      file: 'integration-sync',
      intervalMs: i.syncIntervalMs(config),
      workerData: { integrationUrl: i.moduleUrl },
      due: () => integrationConnected(config, i),
    })),
    ...(tlsFiles ? [{ name: 'tls-check', intervalMs: 24 * 60 * 60 * 1000 }] : []),
  ])
  // A worker per callback spent most of its time starting (a new isolate loading the modules);
  // here the exchange starts at once. Claims are atomic and the send is committed before the
  // POST, so a Bree run at the same moment cannot exchange the same code twice.
  const resolveOnEvent = inThreadJob(
    async () => flowsChanged(await resolvePending(deps)),
    (err) => deps.log.error({ job: 'resolve-pending', message: (err as Error).message }, 'job failed'),
  )
  deps.events.on('callback', () => resolveOnEvent.runNow())
  // A provider that just connected gets its integration's first sync now, not at the next tick.
  // Deferred and guarded: it must never stand between the event and the other listeners (the bot).
  deps.events.on('flow-changed', (state) =>
    setImmediate(() => {
      try {
        const flow = getFlowByState(deps.db, state)
        if (flow?.status !== 'connected') return
        const integration = integrationForProvider(deps.integrations, config, flow.provider)
        if (integration) scheduler.runNow(`${integration.id}-sync`)
      } catch (err) {
        deps.log.error({ message: (err as Error).message }, 'first sync after connect failed to start')
      }
    }),
  )
  // Every resolveIntervalMs, run the job only while some flow is active: a worker per tick
  // would cost CPU all day on an idle box.
  const watch = setInterval(() => {
    if (hasActiveFlows(deps.db)) scheduler.runNow('resolve-pending')
  }, config.resolveIntervalMs)
  watch.unref()

  let address: string
  try {
    // One start-up line; the redirect URI on a line of its own, to copy into each provider's app.
    address = await listenWithRetry(
      app,
      config.listen.host,
      config.listen.port,
      deps.log,
      (at) => `latchkey is listening on ${at} (public URL ${config.publicUrl}); the redirect URI to register at each provider:\n${config.redirectUri}`,
    )
  } catch (err) {
    clearInterval(watch)
    await resolveOnEvent.stop()
    await scheduler.stop()
    deps.db.close()
    throw err
  }
  const stopWatching = tlsFiles ? watchCertificate(app.server as HttpsServer, tlsFiles, deps.log) : () => {}
  if (!config.fromFile)
    deps.log.info(
      { configPath: config.configPath },
      `no config file: serving ${address} over plain HTTP, reachable from this machine only`,
    )
  if (config.telegram.token) {
    // The bot's modules (grammy and the chat, ~6 MiB resident) load only when there is a bot to run.
    const [{ startBot }, { chatLinks }] = await Promise.all([import('./bot/service.js'), import('./bot/agents.js')])
    bot = startBot(deps)
    broker.chat = chatLinks(deps, bot.bot.api, config.telegram.allowedUserIds)
  } else deps.log.info('no telegram.token or TELEGRAM_BOT_TOKEN: running without the Telegram bot')

  let closing: Promise<void> | undefined
  return {
    app,
    deps,
    scheduler,
    bot,
    url: address,
    close: () =>
      (closing ??= (async () => {
        clearInterval(watch)
        stopWatching()
        await bot?.stop()
        // A connection on which no request came yet (fetch and browsers open spare ones) is not
        // idle to Node, so it would hold close until headersTimeout (60 s + a 30 s check): cut
        // whatever is left after a grace.
        const cut = setTimeout(() => app.server.closeAllConnections(), CLOSE_GRACE_MS)
        await app.close()
        clearTimeout(cut)
        await resolveOnEvent.stop()
        await scheduler.stop()
        broker.flushAudit()
        deps.db.close()
        deps.log.info('latchkey stopped')
      })()),
  }
}
