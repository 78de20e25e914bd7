import type { FastifyReply, FastifyRequest } from 'fastify'
import { isLoopbackHost } from '../url.js'
import { unwrapMappedIPv4 } from './network-guard.js'

/**
 * Decodes an RFC 2047 encoded word, as tailscale serve sends non-ASCII header values
 * (`=?utf-8?q?J=C3=B6rg?=`); plain values pass through.
 */
export function decodeRfc2047(value: string): string {
  return value.replace(/=\?([^?]+)\?([bqBQ])\?([^?]*)\?=/g, (_all, _charset: string, encoding: string, text: string) => {
    if (encoding.toLowerCase() === 'b') return Buffer.from(text, 'base64').toString('utf8')
    const bytes = text.replace(/_/g, ' ').replace(/=([0-9A-Fa-f]{2})/g, (_m, hex: string) => String.fromCharCode(parseInt(hex, 16)))
    return Buffer.from(bytes, 'latin1').toString('utf8')
  })
}

/**
 * The guard for `tls: "tailscale-serve"` (oauth-security.md §3a). serve deletes client-sent
 * copies of its identity headers and sets them itself, so behind it: a request marked as coming
 * through Funnel (the public internet) is refused; every other request must name a tailnet user
 * (tagged nodes and non-tailnet traffic get no Tailscale-User-Login), one of `allowedUsers`
 * when given. A direct loopback request without forwarding headers (pm2 or monitoring on this
 * machine) may read /healthz only.
 */
export function tailscaleServeGuard(allowedUsers: readonly string[] | undefined) {
  return async (request: FastifyRequest, reply: FastifyReply) => {
    const forbid = (message: string) => reply.code(403).send({ error: 'forbidden', message })
    // serve connects from this machine; identity headers from any other socket are forgeries
    // (the loopback listener already makes this so: a second line, should it ever bind wider).
    if (!isLoopbackHost(unwrapMappedIPv4(request.socket.remoteAddress ?? ''))) {
      request.log.warn({ ip: request.socket.remoteAddress }, 'refused a direct connection in tailscale serve mode')
      return forbid('behind tailscale serve, latchkey accepts connections from this machine only')
    }
    if (request.headers['tailscale-funnel-request'] !== undefined) {
      request.log.warn('refused a request that came through Tailscale Funnel')
      return forbid('latchkey does not accept requests from the public internet (Tailscale Funnel)')
    }
    const direct = request.headers['x-forwarded-for'] === undefined
    if (direct && request.url === '/healthz') return
    const header = request.headers['tailscale-user-login']
    const login = typeof header === 'string' ? decodeRfc2047(header).trim() : ''
    if (!login) return forbid('only users of this tailnet may use latchkey (no Tailscale-User-Login)')
    if (allowedUsers && !allowedUsers.includes(login)) {
      request.log.warn({ login }, 'refused a tailnet user not in allowedTailnetUsers')
      return forbid('this tailnet user may not use latchkey')
    }
  }
}
