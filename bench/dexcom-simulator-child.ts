// The Dexcom simulator in a process of its own, for the backfill benchmark, behind a replay
// front: the first answer to each API GET is kept and later identical GETs get it at once. The
// simulator generates 26k records with a hash per record id for every 90-day backfill, about
// 250 ms of its CPU per round; the real Dexcom does not spend that on our machine, and the
// figure is meant to be our side (HTTP client, parse, upsert). Its clock stands still at START
// (as the in-process harness's does), so every round asks the same windows and gets the same
// bodies. Run with `node --import tsx` and an IPC channel. Messages: {id, op: 'issue'} answers
// {id, tokens} (a new grant's token set); {id, op: 'requests'} answers {id, requests} (API GETs
// served so far, replayed or not); {id, op: 'paths'} answers {id, paths} (the GETs it replays).
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { startDexcomSimulator } from '../src/integrations/dexcom/simulator/index.js'
import { CLIENT_ID, CLIENT_SECRET, DATA_START, START } from '../test/integrations/dexcom/harness.js'

const [redirectUri] = process.argv.slice(2)
if (!redirectUri || !process.send) throw new Error('usage: fork dexcom-simulator-child.ts <redirectUri> (with IPC)')
const sim = await startDexcomSimulator({
  clients: [{ clientId: CLIENT_ID, clientSecret: CLIENT_SECRET, redirectUris: [redirectUri] }],
  now: () => START,
  dataStartMs: DATA_START,
})
const replies = new Map<string, { status: number; headers: Record<string, string>; body: Buffer }>()
let served = 0
const front = createServer(async (req, res) => {
  served++
  const key = req.url ?? '/'
  let reply = replies.get(key)
  if (!reply) {
    const upstream = await fetch(`${sim.url}${key}`, { headers: { authorization: req.headers.authorization ?? '' } })
    const body = Buffer.from(await upstream.arrayBuffer())
    reply = { status: upstream.status, headers: { 'content-type': upstream.headers.get('content-type') ?? 'application/json' }, body }
    if (upstream.ok) replies.set(key, reply)
  }
  res.writeHead(reply.status, { ...reply.headers, 'content-length': reply.body.length })
  res.end(reply.body)
})
await new Promise<void>((resolve) => front.listen(0, '127.0.0.1', resolve))
const frontUrl = `http://127.0.0.1:${(front.address() as AddressInfo).port}`

process.on('message', (m: { id: number; op: 'issue' | 'requests' | 'paths' }) => {
  if (m.op === 'issue') process.send?.({ id: m.id, tokens: sim.issueTokens({ clientId: CLIENT_ID }) })
  else if (m.op === 'paths') process.send?.({ id: m.id, paths: [...replies.keys()] })
  else process.send?.({ id: m.id, requests: served })
})
process.on('disconnect', () => {
  front.close()
  void sim.close().finally(() => process.exit(0))
})
process.send({ url: frontUrl, authorizationUrl: sim.authorizationUrl, tokenUrl: sim.tokenUrl })
