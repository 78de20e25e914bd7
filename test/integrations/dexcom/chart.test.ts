// The glucose chart: SVG drawn by us, rasterised by resvg with the bundled font. Read back with an
// independent decoder (png-decode.ts): its size, where its points and band are, and that its text
// is really drawn (against the same chart rendered without labels).
import t from 'tap'
import { CHART_COLORS, CHART_WIDTH, chartGeometry, glucoseChartSvg, rangeColor, renderGlucoseChart, type ChartOptions, type ChartReading } from '../../../src/integrations/dexcom/chart.js'
import { CHART_SCALE } from '../../../src/charts/rasterise.js'
import { decodePng, type DecodedPng } from './png-decode.js'

const NOW = Date.UTC(2026, 10, 25, 12, 0, 0)
const MIN = 60_000
const HOUR = 60 * MIN
const OPTS: ChartOptions = { now: NOW, lowMgdl: 70, highMgdl: 180 }
const S = CHART_SCALE

const rgb = (hex: string) => [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16))

/** Readings every 30 minutes over the last 24 h but the newest 4 h, none between 01:00 and 04:00 UTC (a sensor gap). */
function readings(shift = 0): ChartReading[] {
  const out: ChartReading[] = []
  for (let time = NOW - 24 * HOUR + 15 * MIN; time <= NOW - 4 * HOUR; time += 30 * MIN) {
    const hour = new Date(time).getUTCHours()
    if (hour >= 1 && hour < 4) continue
    out.push({ systemTime: time, value: 60 + ((out.length * 37) % 200) + shift, trend: 'flat' })
  }
  return out
}

/** Pixels that differ between two renderings inside a box given in CSS px. */
function differing(a: DecodedPng, b: DecodedPng, box: { x0: number; y0: number; x1: number; y1: number }): number {
  let n = 0
  for (let y = Math.floor(box.y0 * S); y < Math.min(a.height, box.y1 * S); y++)
    for (let x = Math.floor(box.x0 * S); x < Math.min(a.width, box.x1 * S); x++) if (a.pixel(x, y).join() !== b.pixel(x, y).join()) n++
  return n
}

const at = (png: DecodedPng, x: number, y: number) => png.pixel(Math.floor(x * S), Math.floor(y * S))

t.test('a PNG at 2× the phone-width layout; the same input gives the same bytes', async (t) => {
  const data = readings()
  const file = await renderGlucoseChart(data, OPTS)
  const png = decodePng(file)
  const g = chartGeometry(data, OPTS)
  t.same([png.width, png.height], [CHART_WIDTH * S, g.height * S], `${png.width} × ${png.height}`)
  t.equal(png.width, 780)
  t.ok(file.equals(await renderGlucoseChart(data, OPTS)), 'deterministic: no system font is involved')
})

t.test('text is drawn: title, date span, axes and legend, against a rendering without labels', async (t) => {
  const data = readings()
  const opts = { ...OPTS, dataDelayMinutes: 180, utcOffsetMinutes: -480 }
  const g = chartGeometry(data, opts)
  const { plot } = g
  const withText = decodePng(await renderGlucoseChart(data, opts))
  const bare = decodePng(await renderGlucoseChart(data, { ...opts, labels: false }))
  const regions = {
    header: { x0: 0, y0: 0, x1: g.width, y1: plot.top - 14 },
    'y axis labels': { x0: 0, y0: plot.top + 4, x1: plot.left - 2, y1: plot.bottom },
    'x axis labels': { x0: plot.left + 12, y0: plot.bottom + 3, x1: plot.right - 12, y1: plot.bottom + 20 },
    legend: { x0: 26, y0: plot.bottom + 24, x1: g.width, y1: g.height },
  }
  for (const [name, box] of Object.entries(regions)) {
    t.ok(differing(withText, bare, box) > 150, `${name}: ${differing(withText, bare, box)} pixels of text`)
    t.equal(differing(bare, decodePng(await renderGlucoseChart([], { ...opts, labels: false })), box), 0, `${name}: nothing there without labels`)
  }
  const plotLeftOfStrip = { x0: plot.left + 2, y0: plot.top + 2, x1: g.x(g.pendingFrom as number) - 2, y1: plot.bottom - 2 }
  t.equal(differing(withText, bare, plotLeftOfStrip), 0, 'the plot itself is the same with or without labels')

  const mmol = decodePng(await renderGlucoseChart(data, { ...opts, units: 'mmol/L' }))
  t.ok(differing(withText, mmol, regions['y axis labels']) > 150, 'mmol/L labels the y axis differently')
  t.match(glucoseChartSvg(data, { ...opts, units: 'mmol/L' }), />3\.9<.*>10\.0<.*>mmol\/L</s, 'low and high lines labelled in mmol/L, and the unit')
  t.match(glucoseChartSvg(data, opts), />70<.*>180<.*>mg\/dL</s)
  const utc = decodePng(await renderGlucoseChart(data, { ...opts, utcOffsetMinutes: 60 }))
  t.ok(differing(withText, utc, regions['x axis labels']) > 150, 'hour labels follow the local offset')
  t.match(glucoseChartSvg(data, opts), /Tue 24 Nov 04:00 – Wed 25 Nov 04:00 \(UTC−8\)/, 'the date span in local time, with its offset')
})

t.test('every point sits where its reading says, in its range colour', async (t) => {
  const data = readings()
  const g = chartGeometry(data, OPTS)
  const png = decodePng(await renderGlucoseChart(data, OPTS))
  const wrong = data.slice(0, -1).filter((r) => at(png, g.x(r.systemTime), g.y(r.value as number)).join() !== rgb(rangeColor(r.value as number, 70, 180)).join())
  t.same(wrong, [], `all ${data.length} points drawn in their colour`)
  t.equal(new Set(data.map((r) => rangeColor(r.value as number, 70, 180))).size, 3, 'the test data has lows, in-range values and highs')
  t.equal(g.topMgdl, 300, 'a day up to 255 mg/dL gets an axis to 300, not 400')
})

t.test('values beyond 40–400 are markers on the edge, named in the legend, never points at 400 or 40', async (t) => {
  const base = readings()
  const withHigh = [...base, { systemTime: NOW - 20 * HOUR - 5 * MIN, value: 401, status: 'high' }]
  const withLow = [...base, { systemTime: NOW - 20 * HOUR - 5 * MIN, value: 39, status: 'low' }]
  const at399 = [...base, { systemTime: NOW - 20 * HOUR - 5 * MIN, value: 399 }]
  const g = chartGeometry(withHigh, OPTS)
  t.equal(g.topMgdl, 400)
  t.same(g.legend.map((i) => i.kind), ['band', 'high'])
  t.same(chartGeometry(withLow, OPTS).legend.map((i) => i.kind), ['band', 'low'])
  t.same(chartGeometry(at399, OPTS).legend.map((i) => i.kind), ['band'], '399 is a measurement: a point, no legend entry')
  const x = g.x(NOW - 20 * HOUR - 5 * MIN)
  const high = decodePng(await renderGlucoseChart(withHigh, OPTS))
  const point = decodePng(await renderGlucoseChart(at399, OPTS))
  t.same(at(high, x, g.plot.top + 3), rgb(CHART_COLORS.high), 'a HIGH marker at the top edge')
  t.same(at(point, x, g.y(399)), rgb(CHART_COLORS.high), '399: a point')
  t.ok(differing(high, point, { x0: x - 6, y0: g.plot.top - 1, x1: x + 6, y1: g.plot.top + 8 }) > 10, 'the marker is not the point')
  t.ok(differing(high, point, { x0: 0, y0: g.plot.bottom + 24, x1: g.width, y1: g.height }) > 150, 'the legend says "above 400 (HIGH)"')
  t.match(glucoseChartSvg(withHigh, OPTS), />above 400 \(HIGH\)</)
  const low = decodePng(await renderGlucoseChart(withLow, OPTS))
  t.same(at(low, x, g.plot.bottom - 3), rgb(CHART_COLORS.low), 'a LOW marker at the bottom edge')
  t.match(glucoseChartSvg(withLow, { ...OPTS, units: 'mmol/L' }), />below 2\.2 \(LOW\)</)
})

t.test('the "not available yet" strip covers Dexcom\'s delay after the newest reading', async (t) => {
  const data = readings() // newest at NOW - 4 h 15 min
  t.equal(chartGeometry(data, { ...OPTS, dataDelayMinutes: 180 }).pendingFrom, NOW - 3 * HOUR, 'older than the delay: the strip is the delay')
  const recent = [...data, { systemTime: NOW - 70 * MIN, value: 120 }]
  t.equal(chartGeometry(recent, { ...OPTS, dataDelayMinutes: 180 }).pendingFrom, NOW - 70 * MIN, 'data inside the delay: the strip starts after it')
  t.equal(chartGeometry(data, OPTS).pendingFrom, undefined, 'no delay configured: no strip')
  const opts = { ...OPTS, dataDelayMinutes: 180 }
  const g = chartGeometry(data, opts)
  const strip = decodePng(await renderGlucoseChart(data, opts))
  const none = decodePng(await renderGlucoseChart(data, OPTS))
  const box = { x0: g.x(NOW - 3 * HOUR) + 1, y0: g.plot.top + 2, x1: g.plot.right - 1, y1: g.plot.bottom - 2 }
  const shaded = differing(strip, none, box)
  t.ok(shaded > ((box.x1 - box.x0) * (box.y1 - box.y0) * S * S) / 2, `the strip is shaded (${shaded} pixels)`)
  t.same(at(none, g.x(NOW - 2 * HOUR) + 0.3, g.y(270)), rgb(CHART_COLORS.background), 'without it, blank')
  t.match(glucoseChartSvg(data, opts), />not available yet<.*>not available yet: Dexcom sends readings up to 3 h late</s)
})

t.test('the band follows lowMgdl and highMgdl; outside it, background', async (t) => {
  const data = readings()
  const g = chartGeometry(data, OPTS)
  const x = g.x(Date.UTC(2026, 10, 25, 2, 10)) // inside the sensor gap, off the 3-hour grid
  const a = decodePng(await renderGlucoseChart(data, OPTS))
  const b = decodePng(await renderGlucoseChart(data, { ...OPTS, lowMgdl: 100, highMgdl: 250 }))
  const gb = chartGeometry(data, { ...OPTS, lowMgdl: 100, highMgdl: 250 })
  const band = rgb(CHART_COLORS.band)
  const background = rgb(CHART_COLORS.background)
  t.same(at(a, x, g.y(125)), band, '125 is inside 70–180')
  t.same(at(a, x, g.y(80)), band, '80 is inside 70–180')
  t.same(at(a, x, g.y(225)), background, '225 is above 70–180')
  t.same(at(a, x, g.y(60)), background, '60 is below 70–180')
  t.same(at(b, x, gb.y(225)), band, '225 is inside 100–250')
  t.same(at(b, x, gb.y(80)), background, '80 is below 100–250')
  const one = [{ systemTime: NOW - 6 * HOUR, value: 200 }, { systemTime: NOW - 5 * HOUR, value: 120 }]
  t.same(at(decodePng(await renderGlucoseChart(one, OPTS)), g.x(NOW - 6 * HOUR), chartGeometry(one, OPTS).y(200)), rgb(CHART_COLORS.high), '200 is high against 70–180')
  const wide = { ...OPTS, lowMgdl: 100, highMgdl: 250 }
  t.same(at(decodePng(await renderGlucoseChart(one, wide)), g.x(NOW - 6 * HOUR), chartGeometry(one, wide).y(200)), rgb(CHART_COLORS.inRange), 'and in range against 100–250')
})

t.test('the current value with its trend arrow; only the last 24 h; missing values skipped', async (t) => {
  const data = readings()
  const last = data.at(-1) as ChartReading
  const rising = [...data.slice(0, -1), { ...last, trend: 'doubleUp' }]
  const none = [...data.slice(0, -1), { ...last, trend: null }]
  const g = chartGeometry(data, OPTS)
  const header = { x0: g.width - 30, y0: 4, x1: g.width, y1: 36 }
  const up = decodePng(await renderGlucoseChart(rising, OPTS))
  const flat = decodePng(await renderGlucoseChart(data, OPTS))
  const plain = decodePng(await renderGlucoseChart(none, OPTS))
  t.ok(differing(up, flat, header) > 50, 'doubleUp and flat are different arrows')
  t.ok(differing(flat, plain, header) > 50, 'no trend, no arrow')
  t.match(glucoseChartSvg(data, OPTS), new RegExp(`>${last.value}</tspan><tspan[^>]*>mg/dL<`), 'the value and its unit')
  t.match(glucoseChartSvg([...data, { systemTime: NOW - HOUR, value: 401, status: 'high' }], OPTS), />HIGH</, 'a value beyond the scale reads HIGH')

  const old = { systemTime: NOW - 25 * HOUR, value: 250 }
  const empty = { systemTime: NOW - 2 * HOUR, value: null }
  t.notMatch(glucoseChartSvg([old, empty], OPTS), /<circle/, 'nothing older than 24 h, nothing without a value')
  t.notMatch(glucoseChartSvg([old, empty], OPTS), /<tspan/, 'no current value without a reading')
  t.match(glucoseChartSvg([{ systemTime: NOW - HOUR, value: 120 }], OPTS), /<circle/)
})

t.test('interpolated text is escaped', async (t) => {
  t.notMatch(glucoseChartSvg(readings(), { ...OPTS, units: 'mg/dL' }), /<script|&(?!amp;|lt;|gt;|quot;|#39;)/)
})
