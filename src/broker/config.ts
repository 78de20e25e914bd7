import { z } from 'zod'

/** The `broker` config key: limits of /proxy and the MCP tools, each answered with a clear error. */
export const BrokerConfigSchema = z
  .object({
    /** Requests per minute per agent (and for the API token) through /proxy and http_request. */
    rateLimitPerMinute: z.number().int().min(1).max(1_000_000).default(600),
    /** Largest request body an agent may send upstream (413 past it). */
    maxRequestBytes: z.number().int().min(0).max(1024 * 1024 * 1024).default(10 * 1024 * 1024),
    /** How long the provider may take to start answering (504 past it). */
    upstreamTimeoutMs: z.number().int().min(100).max(600_000).default(30_000),
    /** The most body text an MCP tool returns; the rest is cut and the result says so. */
    toolTextLimit: z.number().int().min(256).max(10 * 1024 * 1024).default(100_000),
  })
  .strict()

export type BrokerConfig = Readonly<z.output<typeof BrokerConfigSchema>>

export const DEFAULT_BROKER_CONFIG: BrokerConfig = BrokerConfigSchema.parse({})

/**
 * A request body up to this size is buffered before sending, so that it can be sent again after
 * an upstream 401 and one refresh; a larger or unsized body streams through and is not retried.
 */
export const REPLAYABLE_BODY_BYTES = 64 * 1024
