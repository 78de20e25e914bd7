// The chart PNG, read back with an independent decoder (test/dexcom/png-decode.ts): it
// decodes, has the expected size, and its band and points follow the readings and the range.
import t from 'tap'
import { CHART_COLORS, chartGeometry, pointColor, renderGlucoseChart, type ChartOptions } from '../../src/dexcom/chart.js'
import { encodePng } from '../../src/dexcom/png.js'
import { decodePng } from './png-decode.js'

const NOW = Date.UTC(2026, 10, 25, 12, 0, 0)
const MIN = 60_000
const HOUR = 60 * MIN
const OPTS: ChartOptions = { now: NOW, lowMgdl: 70, highMgdl: 180 }

/** Readings every 30 minutes over the last 24 h, none between 01:00 and 04:00 UTC (a sensor gap). */
function readings(shift = 0): { systemTime: number; value: number }[] {
  const out: { systemTime: number; value: number }[] = []
  for (let time = NOW - 24 * HOUR + 15 * MIN; time <= NOW; time += 30 * MIN) {
    const hour = new Date(time).getUTCHours()
    if (hour >= 1 && hour < 4) continue
    const i = out.length
    // Lows, in-range values, highs and both edge values (39 and 401).
    const value = i === 3 ? 39 : i === 7 ? 401 : 60 + ((i * 37) % 240) + shift
    out.push({ systemTime: time, value })
  }
  return out
}

t.test('the encoder round-trips arbitrary pixels', async (t) => {
  const w = 7
  const h = 5
  const rgb = new Uint8Array(w * h * 3).map((_v, i) => (i * 97 + 13) & 0xff)
  const png = decodePng(encodePng(w, h, rgb))
  t.same([png.width, png.height], [w, h])
  t.same(png.chunks, ['IHDR', 'IDAT', 'IEND'])
  let mismatches = 0
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) {
    const i = (y * w + x) * 3
    const p = png.pixel(x, y)
    if (p[0] !== rgb[i] || p[1] !== rgb[i + 1] || p[2] !== rgb[i + 2]) mismatches++
  }
  t.equal(mismatches, 0)
  t.throws(() => encodePng(2, 2, new Uint8Array(5)), { message: '"rgb" must hold 12 bytes, got 5' })
  t.throws(() => encodePng(0, 2, new Uint8Array(0)), TypeError)
})

t.test('the chart decodes at its size; every point sits where its reading says, in its range colour', async (t) => {
  const data = readings()
  const file = renderGlucoseChart(data, OPTS)
  t.same(file.subarray(0, 8), Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]))
  const png = decodePng(file)
  t.same([png.width, png.height], [800, 400])
  const g = chartGeometry(OPTS)
  const wrong = data.filter((r) => {
    const got = png.pixel(g.x(r.systemTime), g.y(r.value))
    return got.join() !== pointColor(r.value, 70, 180).join()
  })
  t.same(wrong, [], `all ${data.length} points drawn in their colour`)
  t.same(png.pixel(g.x(data[3]?.systemTime as number), g.y(40)), [...CHART_COLORS.low], '39 ("below 40") on the bottom edge, low')
  t.same(png.pixel(g.x(data[7]?.systemTime as number), g.y(400)), [...CHART_COLORS.high], '401 ("above 400") on the top edge, high')
  const colours = new Set(data.map((r) => pointColor(r.value, 70, 180).join()))
  t.equal(colours.size, 3, 'the test data has lows, in-range values and highs')

  const other = decodePng(renderGlucoseChart(readings(15), OPTS))
  const moved = data.filter((r) => other.pixel(g.x(r.systemTime), g.y(r.value)).join() !== png.pixel(g.x(r.systemTime), g.y(r.value)).join())
  t.ok(moved.length > data.length / 2, `other readings, other pixels (${moved.length} of ${data.length} points changed)`)
})

t.test('the band follows lowMgdl and highMgdl; outside it, background', async (t) => {
  const data = readings()
  const g = chartGeometry(OPTS)
  const x = g.x(Date.UTC(2026, 10, 25, 2, 10)) // inside the 01:00–04:00 gap, off the 3-hour grid
  t.notOk(data.some((r) => Math.abs(g.x(r.systemTime) - x) < 20), 'no reading near that column')
  const a = decodePng(renderGlucoseChart(data, OPTS))
  const b = decodePng(renderGlucoseChart(data, { ...OPTS, lowMgdl: 100, highMgdl: 250 }))
  const band = [...CHART_COLORS.band]
  const background = [...CHART_COLORS.background]
  t.same(a.pixel(x, g.y(150)), band, '150 is inside 70–180')
  t.same(a.pixel(x, g.y(80)), band, '80 is inside 70–180')
  t.same(a.pixel(x, g.y(220)), background, '220 is above 70–180')
  t.same(a.pixel(x, g.y(60)), background, '60 is below 70–180')
  t.same(b.pixel(x, g.y(220)), band, '220 is inside 100–250')
  t.same(b.pixel(x, g.y(80)), background, '80 is below 100–250')
  t.same(a.pixel(x, g.y(180)), [...CHART_COLORS.bandEdge], 'the band edge line')
  // A reading of 200 is high against 70–180 and in range against 100–250.
  const one = [{ systemTime: NOW - HOUR, value: 200 }]
  t.same(decodePng(renderGlucoseChart(one, OPTS)).pixel(g.x(NOW - HOUR), g.y(200)), [...CHART_COLORS.high])
  t.same(decodePng(renderGlucoseChart(one, { ...OPTS, lowMgdl: 100, highMgdl: 250 })).pixel(g.x(NOW - HOUR), g.y(200)), [...CHART_COLORS.inRange])
})

t.test('only the last 24 h are drawn; values missing are skipped; size and an empty chart', async (t) => {
  const g = chartGeometry({ ...OPTS, width: 400, height: 200 })
  const old = { systemTime: NOW - 25 * HOUR, value: 250 }
  const empty = { systemTime: NOW - 2 * HOUR, value: null }
  const png = decodePng(renderGlucoseChart([old, empty], { ...OPTS, width: 400, height: 200 }))
  t.same([png.width, png.height], [400, 200])
  let points = 0
  for (let y = 0; y < png.height; y++)
    for (let x = 0; x < png.width; x++) {
      const p = png.pixel(x, y).join()
      if (p === CHART_COLORS.high.join() || p === CHART_COLORS.inRange.join() || p === CHART_COLORS.low.join()) points++
    }
  t.equal(points, 0, 'no point drawn')
  t.same(png.pixel(g.x(NOW - 12 * HOUR) + 5, g.y(120)), [...CHART_COLORS.band], 'the band is still there')
})

t.test('readings closer than 15 minutes are joined by a line; a longer gap is not', async (t) => {
  const g = chartGeometry(OPTS)
  const pair = (gapMin: number) => [
    { systemTime: NOW - 6 * HOUR, value: 120 },
    { systemTime: NOW - 6 * HOUR + gapMin * MIN, value: 120 },
  ]
  const mid = (gapMin: number) => g.x(NOW - 6 * HOUR + (gapMin / 2) * MIN)
  t.same(decodePng(renderGlucoseChart(pair(14), OPTS)).pixel(mid(14), g.y(120)), [...CHART_COLORS.line])
  t.same(decodePng(renderGlucoseChart(pair(40), OPTS)).pixel(mid(40), g.y(120)), [...CHART_COLORS.band])
})
