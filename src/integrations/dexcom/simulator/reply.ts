// Small node:http reply helpers shared by the simulator's routes.
import type { IncomingMessage, ServerResponse } from 'node:http'

/** What a route handler needs from one request. */
export interface SimRequest {
  req: IncomingMessage
  res: ServerResponse
  url: URL
  /** Route handlers report the grant type of token requests here for the request log. */
  grantType?: string
}

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body)
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'cache-control': 'no-store',
    'content-length': Buffer.byteLength(text),
    ...headers,
  })
  res.end(text)
}

export function sendHtml(res: ServerResponse, status: number, html: string, headers: Record<string, string>): void {
  res.writeHead(status, { ...headers, 'content-length': Buffer.byteLength(html) })
  res.end(html)
}

export function redirect(res: ServerResponse, location: string): void {
  res.writeHead(302, { location, 'cache-control': 'no-store', 'referrer-policy': 'no-referrer', 'content-length': 0 })
  res.end()
}

/** Reads a request body up to `limit` bytes; undefined when it is larger. */
export async function readBody(req: IncomingMessage, limit: number): Promise<string | undefined> {
  const chunks: Buffer[] = []
  let size = 0
  for await (const chunk of req) {
    const buf = chunk as Buffer
    size += buf.length
    if (size > limit) return undefined
    chunks.push(buf)
  }
  return Buffer.concat(chunks).toString('utf8')
}

/** Query parameters as a plain record (the last value wins; duplicates are checked where they matter). */
export function queryRecord(url: URL): Record<string, string> {
  return Object.fromEntries(url.searchParams)
}
