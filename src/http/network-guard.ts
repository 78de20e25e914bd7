import { BlockList, isIPv4 } from 'node:net'

/** Peer addresses as Node reports them: IPv4 may arrive mapped into IPv6 (`::ffff:a.b.c.d`). */
export function unwrapMappedIPv4(address: string): string {
  const m = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i.exec(address)
  return m?.[1] ?? address
}

/** How many peer addresses the guard remembers before starting over. */
const GUARD_MEMO_SIZE = 1024

/** A predicate that is true for addresses inside the configured networks. */
export function createNetworkGuard(networks: readonly string[]): (address: string | undefined) => boolean {
  const list = new BlockList()
  for (const entry of networks) {
    const [address = '', bits] = entry.split('/')
    const type = isIPv4(address) ? 'ipv4' : 'ipv6'
    if (bits === undefined) list.addAddress(address, type)
    else list.addSubnet(address, Number(bits), type)
  }
  // Every request asks, and a tailnet has few peers: remember each address's answer (bounded).
  const known = new Map<string, boolean>()
  return (address) => {
    if (!address) return false
    let allowed = known.get(address)
    if (allowed === undefined) {
      const plain = unwrapMappedIPv4(address)
      allowed = list.check(plain, isIPv4(plain) ? 'ipv4' : 'ipv6')
      if (known.size >= GUARD_MEMO_SIZE) known.clear()
      known.set(address, allowed)
    }
    return allowed
  }
}
