// Chart rendering: renderGlucoseChart on 24 h of simulator readings (288 at 5-minute cadence),
// SVG built by us and rasterised by resvg at 2× (780 px wide), beside two floors measured in the
// same run: building the SVG alone, and resvg rasterising an empty SVG of the same size (its
// fixed cost: font loading, canvas, PNG encoding). Goal: a chart well inside the moment the chat
// shows "sending photo…" for, 100 ms median.
import { CHART_WIDTH, chartGeometry, glucoseChartSvg, renderGlucoseChart } from '../src/integrations/dexcom/chart.js'
import { rasterise } from '../src/charts/rasterise.js'
import { svgDocument } from '../src/charts/svg.js'
import { readReadings } from '../src/integrations/dexcom/store.js'
import { pullGlucose } from '../src/integrations/dexcom/sync.js'
import { START, simSetup } from '../test/integrations/dexcom/harness.js'
import { Cleanup, fixed, median, percentile, table, whole } from './support.js'

const WARMUP = 10
const RUNS = 100
const GOAL_MS = 100

async function time(fn: () => unknown): Promise<number[]> {
  for (let i = 0; i < WARMUP; i++) await fn()
  const out: number[] = []
  for (let i = 0; i < RUNS; i++) {
    const t0 = performance.now()
    await fn()
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
    const opts = { now: START, lowMgdl: 70, highMgdl: 180, utcOffsetMinutes: -480, dataDelayMinutes: 180 }
    let bytes = 0
    const chart = await time(async () => (bytes = (await renderGlucoseChart(readings, opts)).length))
    const svg = await time(() => glucoseChartSvg(readings, opts))
    const empty = svgDocument(CHART_WIDTH, chartGeometry(readings, opts).height, [])
    const floor = await time(() => rasterise(empty))
    console.log(`  ${readings.length} readings (24 h; the simulator's 1 h delay leaves the last hour empty), ${CHART_WIDTH * 2} px wide, ${whole(bytes)} byte PNG; ${RUNS} runs after ${WARMUP} warm-up`)
    const row = (label: string, s: number[]) => [label, fixed(median(s), 2), fixed(percentile(s, 99), 2), whole(1000 / median(s))]
    console.log(
      table(
        ['', 'median ms', 'p99 ms', 'per second'],
        [row('renderGlucoseChart (SVG + resvg + PNG)', chart), row('glucoseChartSvg alone (floor)', svg), row('resvg on an empty SVG, same size (floor)', floor)],
      ),
    )
    console.log(`  goal: median under ${GOAL_MS} ms: ${median(chart) < GOAL_MS ? 'met' : 'not met'} (${fixed(median(chart), 1)} ms)`)
  } finally {
    await cleanup.run()
  }
}
