// Chart rendering: renderGlucoseChart on 24 h of simulator readings (288 at 5-minute cadence),
// 800 × 400 px, beside two floors in the same run: drawing without encoding (the raster work
// alone is not exposed, so: encodePng of an already-drawn blank canvas) and a bare deflateSync
// of the same number of raw bytes.
import { deflateSync } from 'node:zlib'
import { CHART_HEIGHT, CHART_WIDTH, renderGlucoseChart } from '../src/dexcom/chart.js'
import { encodePng } from '../src/dexcom/png.js'
import { Raster } from '../src/dexcom/raster.js'
import { readReadings } from '../src/dexcom/store.js'
import { pullGlucose } from '../src/dexcom/sync.js'
import { START, simSetup } from '../test/dexcom/harness.js'
import { Cleanup, fixed, median, percentile, table, whole } from './support.js'

const WARMUP = 20
const RUNS = 200

function time(fn: () => unknown): number[] {
  for (let i = 0; i < WARMUP; i++) fn()
  const out: number[] = []
  for (let i = 0; i < RUNS; i++) {
    const t0 = performance.now()
    fn()
    out.push(performance.now() - t0)
  }
  return out.sort((a, b) => a - b)
}

export async function dexcomChart(): Promise<void> {
  const cleanup = new Cleanup()
  try {
    const { deps } = await simSetup(cleanup, { dexcom: { backfillDays: 2 } })
    await pullGlucose(deps)
    const readings = readReadings(deps.db, 'dexcom-sandbox', START - 24 * 3_600_000)
    const opts = { now: START, lowMgdl: 70, highMgdl: 180, utcOffsetMinutes: -480 }
    let bytes = 0
    const chart = time(() => (bytes = renderGlucoseChart(readings, opts).length))
    const blank = new Raster(CHART_WIDTH, CHART_HEIGHT, [255, 255, 255])
    const encode = time(() => encodePng(CHART_WIDTH, CHART_HEIGHT, blank.data))
    const rawBytes = Buffer.alloc((CHART_WIDTH * 3 + 1) * CHART_HEIGHT)
    const deflate = time(() => deflateSync(rawBytes))
    console.log(`  ${readings.length} readings (24 h; the simulator's 1 h delay leaves the last hour empty), ${CHART_WIDTH} × ${CHART_HEIGHT} px, ${whole(bytes)} byte PNG; ${RUNS} runs after ${WARMUP} warm-up`)
    const row = (label: string, s: number[]) => [label, fixed(median(s), 2), fixed(percentile(s, 99), 2), whole(1000 / median(s))]
    console.log(
      table(
        ['', 'median ms', 'p99 ms', 'per second'],
        [
          row('renderGlucoseChart (draw + encode)', chart),
          row('encodePng of a blank canvas (floor)', encode),
          row('deflateSync of the raw bytes (floor)', deflate),
        ],
      ),
    )
  } finally {
    await cleanup.run()
  }
}
