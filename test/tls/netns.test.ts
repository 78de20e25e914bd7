// The network guard for real, across test hosts in network namespaces this test creates: the
// daemon runs in its own namespace, linked to one host with a tailnet (100.64.0.0/10) address,
// which reaches the callback, and to one outside the tailnet ranges, which gets 403. And a daemon
// whose tailnet address is not up yet waits for it instead of binding elsewhere.
import { execFileSync } from 'node:child_process'
import t from 'tap'
import { fetchFrom, link, netnsUnavailable, route, serveIn, testHost } from '../support/netns.js'

const unavailable = netnsUnavailable()
if (unavailable) console.log(`# network namespace tests skipped: ${unavailable}`)

t.test('a tailnet peer is served, a peer outside the tailnet ranges gets 403', { skip: unavailable ?? false }, async (t) => {
  const server = testHost(t, 'srv')
  const tailnetPeer = testHost(t, 'tn')
  const outsidePeer = testHost(t, 'out')
  link({ ns: server, address: '100.64.77.1' }, { ns: tailnetPeer, address: '100.64.77.2' })
  link({ ns: server, address: '203.0.113.1' }, { ns: outsidePeer, address: '203.0.113.2' })
  route(outsidePeer, '100.64.77.0/24 via 203.0.113.1')
  const port = 8400
  // Served on the tailnet link only (publicUrl says https: TLS is not the point here).
  const daemon = serveIn(t, server, { listen: { host: '100.64.77.1', port }, publicUrl: 'https://latchkey.test:8400' })
  t.ok(await daemon.until('latchkey is listening'), 'the daemon starts in its namespace')
  const base = `http://100.64.77.1:${port}`
  t.equal(await fetchFrom(tailnetPeer, `${base}/healthz`), '200', '100.64.77.2 reaches latchkey')
  t.equal(await fetchFrom(tailnetPeer, `${base}/oauth/callback?state=${'a'.repeat(43)}&code=x`), '400', 'and its callback route (an unknown state is a 400)')
  t.equal(await fetchFrom(outsidePeer, `${base}/healthz`), '403', '203.0.113.2 is refused')
  t.equal(await fetchFrom(outsidePeer, `${base}/oauth/callback?state=${'a'.repeat(43)}&code=x`), '403', 'on every route, before any handler work')
  t.notMatch(daemon.output(), /"level":50/, 'no error logged')
})

t.test('a tailnet address that is not up yet: retried, never another interface', { skip: unavailable ?? false }, async (t) => {
  const ns = testHost(t, 'late')
  const port = 8400
  const daemon = serveIn(t, ns, { listen: { host: '100.64.88.8', port }, publicUrl: 'https://latchkey.test:8400' })
  t.ok(await daemon.until('listen address not available yet'), 'the daemon waits for the address')
  t.match(daemon.output(), /listen address not available yet \(is the tailnet up\?\); retrying/)
  const listening = () => execFileSync('ip', ['netns', 'exec', ns, 'ss', '-Htln'], { encoding: 'utf8' })
  t.notMatch(listening(), `:${port}`, 'nothing listens meanwhile, on no interface')
  execFileSync('ip', ['netns', 'exec', ns, 'ip', 'addr', 'add', '100.64.88.8/32', 'dev', 'lo'])
  let status = ''
  for (let i = 0; i < 80 && status !== '200'; i++) {
    await new Promise((r) => setTimeout(r, 250))
    status = await fetchFrom(ns, `http://100.64.88.8:${port}/healthz`)
  }
  t.equal(status, '200', 'once the address appears, the daemon binds it')
  t.match(listening(), `100.64.88.8:${port}`)
  t.notMatch(listening(), new RegExp(`(0\\.0\\.0\\.0|\\*|\\[::\\]):${port}`), 'and only it')
})
