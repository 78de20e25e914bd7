// `npm run bench` (= `npm run build && tsx bench/run.ts`): runs each benchmark in turn and prints
// its figures. Nothing is asserted; every benchmark is bounded in requests and time, talks to
// 127.0.0.1 only, and removes its temp directories and child processes when it ends.
// `npm run bench -- <name> …` runs only the named ones (names as the files in bench/).
import { existsSync } from 'node:fs'
import { cpus, totalmem } from 'node:os'
import { BIN } from '../test/support/child-daemon.js'
import { botReport } from './bot-report.js'
import { callbackThroughput } from './callback-throughput.js'
import { callbackToConnected } from './callback-to-connected.js'
import { connectUrl } from './connect-url.js'
import { idleMemory } from './idle-memory.js'
import { proxyBench } from './proxy.js'
import { tokenCli } from './token-cli.js'
import { dexcomChart } from './dexcom-chart.js'
import { dexcomIngest } from './dexcom-ingest.js'
import { ouraBackfill } from './oura-backfill.js'
import { tokenRead } from './token-read.js'
import { tokenRefreshHerd } from './token-refresh-herd.js'
import { refreshDurability } from './refresh-durability.js'

const BENCHMARKS: { name: string; title: string; run: () => Promise<void> }[] = [
  { name: 'callback-throughput', title: 'Callback throughput: GET /oauth/callback vs a bare Fastify route', run: callbackThroughput },
  { name: 'callback-to-connected', title: 'Callback to connected, loopback authorization server (oidc-provider)', run: callbackToConnected },
  { name: 'bot-report', title: 'Callback to the ✅ edit at the Bot API server (bot long-polling a loopback Bot API)', run: botReport },
  { name: 'idle-memory', title: 'Idle daemon resident memory', run: idleMemory },
  { name: 'token-read', title: 'getAccessToken on a fresh token, in one process, vs readFile + JSON.parse', run: tokenRead },
  { name: 'token-refresh-herd', title: '1,000 concurrent getAccessToken callers across one refresh (loopback token endpoint)', run: tokenRefreshHerd },
  { name: 'refresh-durability', title: 'Refresh round trip with the durable journal vs before it (loopback rotating token server)', run: refreshDurability },
  { name: 'token-cli', title: '`latchkey token <provider>` wall time as a whole process vs `node -e 0`', run: tokenCli },
  { name: 'dexcom-ingest', title: 'Dexcom ingest: 90-day backfill and a one-hour incremental sync (simulator on loopback) vs raw SQLite inserts', run: dexcomIngest },
  { name: 'oura-backfill', title: 'Oura ingest: 90-day backfill of all five data types (simulator on loopback) vs the same GETs + raw SQLite inserts', run: ouraBackfill },
  { name: 'dexcom-chart', title: 'Glucose chart rendering (24 h, SVG rasterised by resvg at 2×) vs building the SVG and resvg on an empty SVG', run: dexcomChart },
  { name: 'connect-url', title: 'connect <url> to the link: discovery + dynamic registration (MCP SDK server, oidc-provider on loopback), cold and cached, vs a configured provider', run: connectUrl },
  { name: 'proxy', title: 'Broker: GET through /proxy/<connection>/… vs straight to the loopback upstream; a streamed 10 MB response', run: proxyBench },
]

async function main(): Promise<number> {
  if (!existsSync(BIN)) {
    console.error(`${BIN} is missing: run \`npm run build\` first (npm run bench does).`)
    return 1
  }
  const cpu = cpus()
  console.log(`latchkey benchmarks — ${new Date().toISOString()}`)
  console.log(`node ${process.version}, ${process.platform}/${process.arch}, ${cpu.length} × ${cpu[0]?.model.trim() ?? 'cpu'}, ${(totalmem() / 2 ** 30).toFixed(1)} GiB RAM`)
  const wanted = process.argv.slice(2)
  const unknown = wanted.filter((name) => !BENCHMARKS.some((b) => b.name === name))
  if (unknown.length) {
    console.error(`unknown benchmark ${unknown.join(', ')}; known: ${BENCHMARKS.map((b) => b.name).join(', ')}`)
    return 1
  }
  let failed = 0
  const started = performance.now()
  for (const [i, b] of BENCHMARKS.entries()) {
    if (wanted.length && !wanted.includes(b.name)) continue
    console.log(`\n${i + 1}. ${b.title}`)
    const t0 = performance.now()
    try {
      await b.run()
      console.log(`  (${((performance.now() - t0) / 1000).toFixed(1)} s)`)
    } catch (err) {
      failed++
      console.log(`  did not complete: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`)
    }
  }
  console.log(`\ntotal ${((performance.now() - started) / 1000).toFixed(1)} s`)
  return failed ? 1 : 0
}

process.exitCode = await main()
