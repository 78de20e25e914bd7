// The /glucose chart: 24 h of readings drawn as SVG by us and rasterised by resvg at 2× for phones.
// What it shows follows Dexcom Clarity's daily overlay and Nightscout's main view: the target band,
// low and high lines, readings coloured by range, the current value with its trend arrow; and
// what neither needs, since both see data live: a shaded strip where Dexcom's API has no data yet.
import { CHART_FONT_FAMILY } from '../../charts/fonts.js'
import { rasterise } from '../../charts/rasterise.js'
import { el, svgDocument, text } from '../../charts/svg.js'
import { clockLabel, hourTicks, spanLabel } from '../../charts/time-axis.js'
import { delayText } from './glucose-summary.js'
import { MGDL_PER_MMOL, mgdlToMmol, type Egv, type GlucoseUnits } from './records.js'

/** Layout width in CSS px (a phone's); the PNG is CHART_SCALE times larger. The height follows the legend. */
export const CHART_WIDTH = 390
const PLOT_BOTTOM = 234
const LEGEND_TOP = 36
const LEGEND_ROW = 17
/** Dexcom measures 40–400 mg/dL; it reports lower and higher values as 39 and 401 ("LOW", "HIGH"). */
export const CHART_MIN_MGDL = 40
export const CHART_MAX_MGDL = 400
const DAY_MS = 24 * 3_600_000

export const CHART_COLORS = {
  background: '#ffffff',
  band: '#e6f4ea',
  inRange: '#188038',
  low: '#d93025',
  high: '#e37400',
  grid: '#e8eaed',
  axis: '#9aa0a6',
  label: '#5f6368',
  title: '#202124',
  pending: '#f1f3f4',
  hatch: '#d2d5d9',
} as const

export type ChartReading = Pick<Egv, 'systemTime' | 'value'> & Partial<Pick<Egv, 'trend' | 'status'>>

export interface ChartOptions {
  /** The right edge of the chart (epoch ms). */
  now: number
  lowMgdl: number
  highMgdl: number
  units?: GlucoseUnits
  /** Span of the x axis (default 24 h). */
  spanMs?: number
  /** Labels in this offset from UTC (the user's local time; default 0). */
  utcOffsetMinutes?: number
  /** How late Dexcom serves readings: the end of the chart after the newest reading is shaded. */
  dataDelayMinutes?: number
  /** Draw text (default true). Without it, a test can tell what the text adds. */
  labels?: boolean
}

export interface ChartGeometry {
  width: number
  height: number
  /** The plot area in CSS px. */
  plot: { left: number; top: number; right: number; bottom: number }
  /** The y axis' top value in mg/dL (250 to 400, from the data and the high line). */
  topMgdl: number
  /** Where the "not available yet" strip starts, if there is one. */
  pendingFrom: number | undefined
  legend: LegendItem[]
  x(time: number): number
  /** Clamped to the axis: values beyond it get a marker, not a point (see isOffScale). */
  y(mgdl: number): number
}

type Shown = { systemTime: number; value: number; trend?: string | null | undefined; status?: string | null | undefined }

function shownReadings(readings: readonly ChartReading[], opts: ChartOptions): Shown[] {
  const from = opts.now - (opts.spanMs ?? DAY_MS)
  return readings
    .filter((r): r is ChartReading & { value: number } => r.value !== null && r.systemTime >= from && r.systemTime <= opts.now)
    .sort((a, b) => a.systemTime - b.systemTime)
}

/** 'high' above 400 ("HIGH" on the receiver), 'low' below 40, else undefined. */
export function isOffScale(r: Pick<Shown, 'value' | 'status'>): 'high' | 'low' | undefined {
  if (r.status === 'high' || r.value > CHART_MAX_MGDL) return 'high'
  if (r.status === 'low' || r.value < CHART_MIN_MGDL) return 'low'
  return undefined
}

export interface LegendItem {
  kind: 'band' | 'high' | 'low' | 'pending'
  words: string
  x: number
  row: number
}

/** Legend entries, wrapped to the width by an estimate of Inter's average glyph width. */
function legendLayout(shown: readonly Shown[], opts: ChartOptions, pending: boolean): LegendItem[] {
  const units = opts.units ?? 'mg/dL'
  const entries: Omit<LegendItem, 'x' | 'row'>[] = [
    { kind: 'band', words: `target ${valueLabel(opts.lowMgdl, units, true)}–${valueLabel(opts.highMgdl, units, true)} ${units}` },
  ]
  if (shown.some((r) => isOffScale(r) === 'high')) entries.push({ kind: 'high', words: `above ${valueLabel(CHART_MAX_MGDL, units, false)} (HIGH)` })
  if (shown.some((r) => isOffScale(r) === 'low')) entries.push({ kind: 'low', words: `below ${valueLabel(CHART_MIN_MGDL, units, true)} (LOW)` })
  if (pending) entries.push({ kind: 'pending', words: `not available yet: Dexcom sends readings up to ${delayText(opts.dataDelayMinutes ?? 0)} late` })
  const items: LegendItem[] = []
  let x = 12
  let row = 0
  for (const e of entries) {
    const width = 14 + e.words.length * 5.6
    if (x > 12 && (x + width > CHART_WIDTH - 8 || e.kind === 'pending')) {
      row++
      x = 12
    }
    items.push({ ...e, x, row })
    x += width + 14
  }
  return items
}

/** Where everything goes; exported so tests can find the pixels of a reading. */
export function chartGeometry(readings: readonly ChartReading[], opts: ChartOptions): ChartGeometry {
  const shown = shownReadings(readings, opts)
  const span = opts.spanMs ?? DAY_MS
  const from = opts.now - span
  const plot = { left: 40, top: 72, right: CHART_WIDTH - 10, bottom: PLOT_BOTTOM }
  // The axis ends at a round value just above the data and the high line, so a calm day is not
  // squeezed into the bottom third; anything off Dexcom's scale needs the whole 400.
  const highest = Math.max(opts.highMgdl, ...shown.map((r) => (isOffScale(r) === 'high' ? CHART_MAX_MGDL : r.value)))
  const topMgdl = Math.min(CHART_MAX_MGDL, Math.max(250, Math.ceil((highest + 20) / 50) * 50))
  const newest = shown.at(-1)?.systemTime
  const delay = (opts.dataDelayMinutes ?? 0) * 60_000
  const start = delay > 0 ? Math.max(newest ?? -Infinity, opts.now - delay, from) : opts.now
  const pendingFrom = start < opts.now ? start : undefined
  const legend = legendLayout(shown, opts, pendingFrom !== undefined)
  return {
    width: CHART_WIDTH,
    height: PLOT_BOTTOM + LEGEND_TOP + (legend.at(-1)?.row ?? 0) * LEGEND_ROW + 14,
    legend,
    plot,
    topMgdl,
    pendingFrom,
    x: (time) => plot.left + ((time - from) / span) * (plot.right - plot.left),
    y: (mgdl) => {
      const v = Math.min(topMgdl, Math.max(CHART_MIN_MGDL, mgdl))
      return plot.bottom - ((v - CHART_MIN_MGDL) / (topMgdl - CHART_MIN_MGDL)) * (plot.bottom - plot.top)
    },
  }
}

/** The colour of a reading: low, in range or high against the target range (bounds inclusive). */
export function rangeColor(mgdl: number, lowMgdl: number, highMgdl: number): string {
  return mgdl < lowMgdl ? CHART_COLORS.low : mgdl > highMgdl ? CHART_COLORS.high : CHART_COLORS.inRange
}

function valueLabel(mgdl: number, units: GlucoseUnits, decimals: boolean): string {
  if (units === 'mg/dL') return String(Math.round(mgdl))
  const mmol = mgdlToMmol(mgdl)
  return decimals ? mmol.toFixed(1) : String(Math.round(mmol))
}

const TREND_ANGLES: Record<string, { angle: number; double?: boolean }> = {
  doubleUp: { angle: -90, double: true },
  singleUp: { angle: -90 },
  fortyFiveUp: { angle: -45 },
  flat: { angle: 0 },
  fortyFiveDown: { angle: 45 },
  singleDown: { angle: 90 },
  doubleDown: { angle: 90, double: true },
}

/** Dexcom's trend as a drawn arrow (no font has all seven glyphs alike); '' when there is none. */
function trendArrow(trend: string | null | undefined, cx: number, cy: number, color: string): string {
  const t = trend ? TREND_ANGLES[trend] : undefined
  if (!t) return ''
  const arrow = (dy: number) =>
    el('path', { d: `M-6 ${dy}H2`, stroke: color, 'stroke-width': 2.4, 'stroke-linecap': 'round' }) + el('path', { d: `M7.5 ${dy}L1 ${dy - 5.5}V${dy + 5.5}Z`, fill: color })
  return el('g', { transform: `translate(${cx} ${cy}) rotate(${t.angle})` }, ...(t.double ? [arrow(-4.5), arrow(4.5)] : [arrow(0)]))
}

/** A small triangle marking a reading beyond the scale: pointing up above 400, down below 40. */
function offScaleMarker(x: number, y: number, dir: 'high' | 'low', color: string): string {
  const s = dir === 'high' ? -1 : 1
  return el('path', { d: `M${x - 3.2} ${y - 2.6 * s}L${x + 3.2} ${y - 2.6 * s}L${x} ${y + 2.8 * s}Z`, fill: color })
}

/**
 * The chart as SVG (CSS px, CHART_WIDTH wide): title and date span, the current value
 * with its trend, the y axis in `units` with the low and high lines and the target band, local-time
 * hours on the x axis, readings as dots coloured by range, readings beyond 40–400 as triangles on
 * the edge (said in the legend, never passed off as 400), and the "not available yet" strip.
 */
export function glucoseChartSvg(readings: readonly ChartReading[], opts: ChartOptions): string {
  const g = chartGeometry(readings, opts)
  const { plot } = g
  const units = opts.units ?? 'mg/dL'
  const offset = opts.utcOffsetMinutes ?? 0
  const span = opts.spanMs ?? DAY_MS
  const labels = opts.labels ?? true
  const shown = shownReadings(readings, opts)
  const C = CHART_COLORS
  const font = { 'font-family': CHART_FONT_FAMILY }
  const out: string[] = []
  const label = (s: string, attrs: Record<string, string | number>) => {
    if (labels) out.push(text(s, { ...font, 'font-size': 11, fill: C.label, ...attrs }))
  }

  out.push(el('rect', { width: g.width, height: g.height, fill: C.background }))
  out.push(el('defs', {}, el('pattern', { id: 'hatch', width: 6, height: 6, patternUnits: 'userSpaceOnUse', patternTransform: 'rotate(45)' },
    el('rect', { width: 6, height: 6, fill: C.pending }), el('rect', { width: 1.5, height: 6, fill: C.hatch }))))

  // Target band, then the grid on whole values of the unit.
  out.push(el('rect', { x: plot.left, y: g.y(opts.highMgdl), width: plot.right - plot.left, height: g.y(opts.lowMgdl) - g.y(opts.highMgdl), fill: C.band }))
  const step = units === 'mmol/L' ? (g.topMgdl > 300 ? 4 : 2) * MGDL_PER_MMOL : g.topMgdl > 300 ? 100 : 50
  const edges = [opts.lowMgdl, opts.highMgdl]
  for (let v = Math.ceil(CHART_MIN_MGDL / step) * step; v <= g.topMgdl + 0.01; v += step) {
    if (v <= CHART_MIN_MGDL) continue
    out.push(el('path', { d: `M${plot.left} ${g.y(v)}H${plot.right}`, stroke: C.grid, 'stroke-width': 0.8 }))
    if (edges.every((e) => Math.abs(g.y(e) - g.y(v)) > 9)) label(valueLabel(v, units, false), { x: plot.left - 5, y: g.y(v) + 3.5, 'text-anchor': 'end' })
  }
  const ticks = hourTicks(opts.now - span, opts.now, span > 12 * 3_600_000 ? 3 : 1, offset)
  for (const tick of ticks) out.push(el('path', { d: `M${g.x(tick.time)} ${plot.top}V${plot.bottom}`, stroke: C.grid, 'stroke-width': tick.midnight ? 1.4 : 0.8 }))

  // Dexcom serves readings hours late: the time after the newest reading is "not available yet",
  // not "no data".
  if (g.pendingFrom !== undefined) {
    const x0 = g.x(g.pendingFrom)
    out.push(el('rect', { x: x0, y: plot.top, width: plot.right - x0, height: plot.bottom - plot.top, fill: 'url(#hatch)' }))
    if (plot.right - x0 >= 12)
      label('not available yet', { x: 0, y: 0, 'font-size': 9, 'text-anchor': 'middle', transform: `translate(${(x0 + plot.right) / 2 + 3} ${(plot.top + plot.bottom) / 2}) rotate(-90)` })
  }

  for (const [edge, color] of [[opts.lowMgdl, C.low], [opts.highMgdl, C.high]] as const) {
    out.push(el('path', { d: `M${plot.left} ${g.y(edge)}H${plot.right}`, stroke: color, 'stroke-width': 1, 'stroke-dasharray': '4 3' }))
    label(valueLabel(edge, units, true), { x: plot.left - 5, y: g.y(edge) + 3.5, 'text-anchor': 'end', fill: color })
  }
  out.push(el('path', { d: `M${plot.left} ${plot.top}V${plot.bottom}H${plot.right}`, stroke: C.axis, 'stroke-width': 1, fill: 'none' }))

  for (const r of shown) {
    const off = isOffScale(r)
    const x = g.x(r.systemTime)
    if (off) out.push(offScaleMarker(x, off === 'high' ? plot.top + 3 : plot.bottom - 3, off, off === 'high' ? C.high : C.low))
    else out.push(el('circle', { cx: x, cy: g.y(r.value), r: 1.9, fill: rangeColor(r.value, opts.lowMgdl, opts.highMgdl) }))
  }
  const latest = shown.at(-1)
  if (latest && !isOffScale(latest))
    out.push(el('circle', { cx: g.x(latest.systemTime), cy: g.y(latest.value), r: 3.6, fill: rangeColor(latest.value, opts.lowMgdl, opts.highMgdl), stroke: C.background, 'stroke-width': 1.4 }))

  // Header: what, when, and the current value as the receiver shows it.
  if (labels) {
    out.push(text('Glucose, last 24 h', { ...font, x: 12, y: 24, 'font-size': 16, 'font-weight': 600, fill: C.title }))
    out.push(text(spanLabel(opts.now - span, opts.now, offset), { ...font, x: 12, y: 42, 'font-size': 10.5, fill: C.label }))
    if (latest) {
      const off = isOffScale(latest)
      const color = off === 'low' ? C.low : off === 'high' ? C.high : rangeColor(latest.value, opts.lowMgdl, opts.highMgdl)
      const value = off === 'high' ? 'HIGH' : off === 'low' ? 'LOW' : valueLabel(latest.value, units, true)
      const hasArrow = !off && latest.trend && TREND_ANGLES[latest.trend]
      const right = g.width - (hasArrow ? 32 : 12)
      out.push(el('text', { ...font, x: right, y: 28, 'text-anchor': 'end', fill: color },
        el('tspan', { 'font-size': 24, 'font-weight': 600 }, value), el('tspan', { 'font-size': 11, fill: C.label, dx: 3 }, units)))
      if (hasArrow) out.push(trendArrow(latest.trend, g.width - 18, 20, color))
      label(`at ${clockLabel(latest.systemTime, offset)}`, { x: g.width - 12, y: 44, 'text-anchor': 'end' })
    }
    label(units, { x: plot.left - 5, y: plot.top - 10, 'text-anchor': 'end', 'font-size': 10 })
    for (const tick of ticks) {
      const x = g.x(tick.time)
      if (x - plot.left > 10 && plot.right - x > 10) label(tick.label, { x, y: plot.bottom + 15, 'text-anchor': 'middle', ...(tick.midnight ? { 'font-weight': 600, fill: C.title } : {}) })
    }
  }

  // Legend: the band, what is beyond the scale (only when there is some), and the strip.
  if (labels) {
    for (const item of g.legend) {
      const y = plot.bottom + LEGEND_TOP + item.row * LEGEND_ROW
      const swatch =
        item.kind === 'band'
          ? el('rect', { x: item.x, y: y - 4, width: 10, height: 8, fill: C.band, stroke: C.inRange, 'stroke-width': 0.6 })
          : item.kind === 'pending'
            ? el('rect', { x: item.x, y: y - 4, width: 10, height: 8, fill: 'url(#hatch)' })
            : offScaleMarker(item.x + 5, y, item.kind, item.kind === 'high' ? C.high : C.low)
      out.push(swatch, text(item.words, { ...font, x: item.x + 14, y: y + 4, 'font-size': 10.5, fill: C.label }))
    }
  }
  return svgDocument(g.width, g.height, out)
}

/** The chart as a PNG, CHART_SCALE device pixels per CSS px (780 px wide). */
export function renderGlucoseChart(readings: readonly ChartReading[], opts: ChartOptions): Promise<Buffer> {
  return rasterise(glucoseChartSvg(readings, opts))
}
