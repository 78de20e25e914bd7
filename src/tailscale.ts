import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { z } from 'zod'

const run = promisify(execFile)
const TIMEOUT_MS = 10_000

/** The parts of `tailscale status --json` latchkey reads. */
const StatusSchema = z.object({
  BackendState: z.string(),
  Self: z.object({ DNSName: z.string().optional(), TailscaleIPs: z.array(z.string()).optional() }).optional(),
})
export type TailscaleStatus = z.infer<typeof StatusSchema>

/** The parts of `tailscale serve status --json`: which host:port pairs Funnel exposes. */
const ServeStatusSchema = z.object({ AllowFunnel: z.record(z.string(), z.boolean()).optional() }).passthrough()
export type ServeStatus = z.infer<typeof ServeStatusSchema>

export type TailscaleResult<T> = { kind: 'ok'; value: T } | { kind: 'missing' } | { kind: 'error'; message: string }

/** Runs the `tailscale` CLI found on `env.PATH` and parses its JSON answer. */
async function tailscaleJson<T>(args: string[], schema: z.ZodType<T>, env: Record<string, string | undefined>): Promise<TailscaleResult<T>> {
  let stdout: string
  try {
    ;({ stdout } = await run('tailscale', args, { env, timeout: TIMEOUT_MS }))
  } catch (err) {
    const e = err as { code?: string | number; stderr?: string }
    if (e.code === 'ENOENT') return { kind: 'missing' }
    return { kind: 'error', message: `tailscale ${args.join(' ')} failed: ${String(e.stderr ?? e.code).trim().slice(0, 200)}` }
  }
  try {
    const parsed = schema.safeParse(JSON.parse(stdout))
    return parsed.success ? { kind: 'ok', value: parsed.data } : { kind: 'error', message: `tailscale ${args.join(' ')}: unexpected JSON` }
  } catch {
    return { kind: 'error', message: `tailscale ${args.join(' ')}: not JSON` }
  }
}

export function tailscaleStatus(env: Record<string, string | undefined>): Promise<TailscaleResult<TailscaleStatus>> {
  return tailscaleJson(['status', '--json'], StatusSchema, env)
}

export function tailscaleServeStatus(env: Record<string, string | undefined>): Promise<TailscaleResult<ServeStatus>> {
  return tailscaleJson(['serve', 'status', '--json'], ServeStatusSchema, env)
}
