import { BlockList, isIPv4 } from 'node:net'

/** Peer addresses as Node reports them: IPv4 may arrive mapped into IPv6 (`::ffff:a.b.c.d`). */
export function unwrapMappedIPv4(address: string): string {
  const m = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i.exec(address)
  return m?.[1] ?? address
}

/** A predicate that is true for addresses inside the configured networks. */
export function createNetworkGuard(networks: readonly string[]): (address: string | undefined) => boolean {
  const list = new BlockList()
  for (const entry of networks) {
    const [address = '', bits] = entry.split('/')
    const type = isIPv4(address) ? 'ipv4' : 'ipv6'
    if (bits === undefined) list.addAddress(address, type)
    else list.addSubnet(address, Number(bits), type)
  }
  return (address) => {
    if (!address) return false
    const plain = unwrapMappedIPv4(address)
    return list.check(plain, isIPv4(plain) ? 'ipv4' : 'ipv6')
  }
}
