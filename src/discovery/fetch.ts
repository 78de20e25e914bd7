import type { FetchLike } from '@modelcontextprotocol/sdk/shared/transport.js'
import { AppError } from '../errors.js'
import { isLoopbackHost } from '../url.js'

/** A metadata document (or registration answer) larger than this is refused: none is near it. */
export const MAX_METADATA_BYTES = 64 * 1024
/** Discovery requests give up after this long. */
export const DISCOVERY_TIMEOUT_MS = 10_000

/** True for an https URL, or plain http to a loopback host (a peer on this machine). */
export function isSecureUrl(value: string): boolean {
  try {
    const url = new URL(value)
    return url.protocol === 'https:' || (url.protocol === 'http:' && isLoopbackHost(url.hostname))
  } catch {
    return false
  }
}

/** `host` of a URL for messages: never its path or query (they may carry a token). */
export function hostOf(value: string | URL): string {
  try {
    return new URL(value).host
  } catch {
    return 'an invalid URL'
  }
}

/**
 * The fetch every discovery and registration request goes through (the MCP SDK's helpers take
 * it as `fetchFn`): https only (loopback http aside), redirects refused rather than followed (a
 * metadata document that moves elsewhere is not the server's own), bodies capped at
 * MAX_METADATA_BYTES and a timeout. Its failures are AppErrors, never TypeErrors: the SDK takes a
 * TypeError for a CORS failure and would quietly try the next URL.
 */
export function discoveryFetch(base: typeof fetch = fetch, maxBytes = MAX_METADATA_BYTES): FetchLike {
  return async (input, init) => {
    const url = String(input)
    if (!isSecureUrl(url))
      throw new AppError('DISCOVERY_REFUSED', `refused to contact ${url.startsWith('http:') ? `plain-http ${hostOf(url)}` : JSON.stringify(url.slice(0, 80))}: only https (or http on this machine) is allowed`)
    let res: Response
    try {
      res = await base(url, { ...init, redirect: 'manual', signal: AbortSignal.timeout(DISCOVERY_TIMEOUT_MS) })
    } catch (err) {
      const cause = (err as { cause?: { code?: string } }).cause?.code ?? (err as Error).name
      throw new AppError('PROVIDER_UNREACHABLE', `could not reach ${hostOf(url)} (${cause})`)
    }
    if (res.status >= 300 && res.status < 400) {
      await res.body?.cancel()
      throw new AppError('DISCOVERY_REFUSED', `${hostOf(url)} redirected a discovery request (HTTP ${res.status}); latchkey does not follow redirects for OAuth metadata`)
    }
    const declared = Number(res.headers.get('content-length') ?? '0')
    if (declared > maxBytes) {
      await res.body?.cancel()
      throw oversized(url, maxBytes)
    }
    const chunks: Uint8Array[] = []
    let size = 0
    if (res.body) {
      for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
        size += chunk.byteLength
        if (size > maxBytes) throw oversized(url, maxBytes)
        chunks.push(chunk)
      }
    }
    const body = Buffer.concat(chunks)
    // A 204/304-style status cannot carry a body in the Response constructor.
    return new Response(res.status === 204 ? null : body, { status: res.status, statusText: res.statusText, headers: res.headers })
  }
}

function oversized(url: string, maxBytes: number): AppError {
  return new AppError('DISCOVERY_REFUSED', `${hostOf(url)} sent a document over ${maxBytes / 1024} KiB; refused`)
}
