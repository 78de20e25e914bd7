// The seam every data integration implements (house-style.md §3): one descriptor per folder,
// listed in ./index.ts. Descriptors stay light (types, SQL text, lazy imports) because the
// registry is loaded by the daemon, the bot, the CLI and every job worker.
import type { Command } from 'commander'
import type { Composer, Context } from 'grammy'
import type { Config } from '../config.js'
import type { Deps } from '../deps.js'
import type { Output } from '../cli/output.js'

/** A chat command an integration answers, with its menu text beside it (never a second list). */
export interface ChatCommand {
  command: string
  /** The Telegram command menu's text. */
  description: string
  /** Its /help line. */
  help: string
}

/** What the CLI hands an integration that adds subcommands (main.ts owns parsing and exit codes). */
export interface CliContext {
  env: Record<string, string | undefined>
  out: Output
  /** Ends the command with this exit code. */
  done(code: number): void
  /** Help text after the options: an optional note, then examples. */
  after(note: string | undefined, ...examples: string[]): string
  /** Parses --since (a usage error when it does not parse). */
  sinceArg(value: string): string
  /** Parses a whole number in a range (a usage error otherwise). */
  intInRange(name: string, min: number, max: number): (value: string) => number
  /** Collects a repeatable URL option. */
  collectUrl(value: string, previous: string[] | undefined): string[]
  /** Loads and validates the config. */
  loadConfig(): Promise<Config>
  /** Runs fn with the database open (and closed after), discovered providers installed. */
  withDb<T>(config: Config, fn: (db: Deps['db']) => T | Promise<T>): Promise<T>
}

/** Data that should have arrived and has not, for one connected provider. */
export interface StaleData {
  provider: string
  /** What the user is told (status and the chat): what is missing, since when, what to do. */
  text: string
}

/** What `latchkey demo` takes from an integration: its simulator, and what to print once connected. */
export interface DemoPart {
  /** The sandbox provider the demo connects (its entry comes from `start`). */
  provider: string
  /** For people: "Dexcom". */
  name: string
  /** What the user picks on the consent page, for the line above the link. */
  pick: string
  /** Starts the simulator on loopback for a daemon whose callback is `redirectUri`; returns the config keys that point at it. */
  start(redirectUri: string): Promise<{ config: { providers: Record<string, unknown>; [key: string]: unknown }; url: string; close(): Promise<void> }>
  /** Once connected: one sync, then what came, printed. False when the sync did not complete. */
  show(deps: Deps, out: Output, env: Record<string, string | undefined>): Promise<boolean>
  /** A CLI command to try next. */
  tryNext: string
}

/** One data integration: what it syncs from, its tables, its job, and its chat and CLI surface. */
export interface Integration {
  /** Unique; names its job (`<id>-sync`) and its CLI command. */
  id: string
  /** The descriptor module's own URL (import.meta.url): a Bree worker re-imports it from there. */
  moduleUrl: string
  /** Its tables (idempotent SQL), applied after schema.sql in registry order at every start-up. */
  schema: string
  /** The provider ids it syncs from under this config (each must exist in config.providers). */
  providerIds(config: Config): string[]
  /** How often its sync job runs. */
  syncIntervalMs(config: Config): number
  /** One sync run, in a job worker (its own deps). Returns a summary for the log. */
  sync(deps: Deps): Promise<unknown>
  /**
   * Its freshness rule: each connected provider whose data is late at `now` (epoch ms; `timeZone`
   * is the user's). SQL only and synchronous: `status` and every sync run call it.
   */
  freshness?(deps: Pick<Deps, 'config' | 'db'>, now: number, timeZone: string): StaleData[]
  /** Chat commands, their handlers loaded on first use. */
  chat?: { commands: ChatCommand[]; load(deps: Deps): Promise<Composer<Context>> }
  /** Adds its top-level CLI command(s); actions must import their modules lazily. */
  cli?(program: Command, ctx: CliContext): void
  /** Its part of `latchkey demo` (loaded when the demo runs). */
  demo?(): Promise<DemoPart>
  /** Adds `latchkey simulate <id>` under the given command; lazily loaded like cli. */
  simulate?(simulate: Command, ctx: CliContext): void
}

/** Identity with a type check: `export const integration = defineIntegration({...})`. */
export function defineIntegration(integration: Integration): Integration {
  return integration
}
