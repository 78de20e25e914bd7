// The /glucose chart: the last 24 h of readings over the target band, as a PNG.
import { encodePng } from './png.js'
import { Raster, type Rgb } from './raster.js'
import { MGDL_PER_MMOL, type Egv, type GlucoseUnits } from './records.js'

export const CHART_WIDTH = 800
export const CHART_HEIGHT = 400
/** The y axis spans Dexcom's measuring range; 39 and 401 sit on its edges. */
export const CHART_MIN_MGDL = 40
export const CHART_MAX_MGDL = 400
/** Readings further apart than this are not joined by a line (a sensor gap). */
export const CHART_MAX_GAP_MS = 15 * 60_000
export const POINT_RADIUS = 3

export const CHART_COLORS = {
  background: [255, 255, 255],
  band: [214, 240, 218],
  bandEdge: [150, 200, 160],
  grid: [232, 232, 232],
  axis: [120, 120, 120],
  label: [90, 90, 90],
  line: [160, 160, 160],
  inRange: [30, 120, 60],
  low: [205, 40, 40],
  high: [235, 130, 0],
} as const satisfies Record<string, Rgb>

export interface ChartOptions {
  /** The right edge of the chart (epoch ms). */
  now: number
  lowMgdl: number
  highMgdl: number
  units?: GlucoseUnits
  width?: number
  height?: number
  /** Span of the x axis (default 24 h). */
  spanMs?: number
  /** Hour labels in this offset from UTC (the user's local time; default 0). */
  utcOffsetMinutes?: number
}

export interface ChartGeometry {
  width: number
  height: number
  /** The plot area in pixels: [left, right) × [top, bottom). */
  plot: { left: number; top: number; right: number; bottom: number }
  /** Pixel column of a time, pixel row of a glucose value (clamped to 40–400). */
  x(time: number): number
  y(mgdl: number): number
}

/** Where everything goes; exported so tests can check pixels against the readings. */
export function chartGeometry(opts: ChartOptions): ChartGeometry {
  const width = opts.width ?? CHART_WIDTH
  const height = opts.height ?? CHART_HEIGHT
  const span = opts.spanMs ?? 24 * 60 * 60 * 1000
  const plot = { left: 36, top: 8, right: width - 8, bottom: height - 20 }
  const from = opts.now - span
  return {
    width,
    height,
    plot,
    x: (time) => Math.round(plot.left + ((time - from) / span) * (plot.right - 1 - plot.left)),
    y: (mgdl) => {
      const v = Math.min(CHART_MAX_MGDL, Math.max(CHART_MIN_MGDL, mgdl))
      return Math.round(plot.bottom - 1 - ((v - CHART_MIN_MGDL) / (CHART_MAX_MGDL - CHART_MIN_MGDL)) * (plot.bottom - 1 - plot.top))
    },
  }
}

/** The colour of a reading's point: low, in range or high against the target band. */
export function pointColor(mgdl: number, lowMgdl: number, highMgdl: number): Rgb {
  return mgdl < lowMgdl ? CHART_COLORS.low : mgdl > highMgdl ? CHART_COLORS.high : CHART_COLORS.inRange
}

function label(mgdl: number, units: GlucoseUnits): string {
  return units === 'mmol/L' ? (mgdl / MGDL_PER_MMOL).toFixed(1).replace(/\.0$/, '') : String(mgdl)
}

/**
 * Renders readings (mg/dL) from the `spanMs` before `now` as a PNG: the target band shaded,
 * hour and value grid lines, points coloured by range, joined where no more than 15 min apart.
 */
export function renderGlucoseChart(readings: readonly Pick<Egv, 'systemTime' | 'value'>[], opts: ChartOptions): Buffer {
  const g = chartGeometry(opts)
  const { plot } = g
  const units = opts.units ?? 'mg/dL'
  const span = opts.spanMs ?? 24 * 60 * 60 * 1000
  const img = new Raster(g.width, g.height, CHART_COLORS.background)

  // Grid: every 3 hours of local time, and round values in the chosen unit.
  const offset = (opts.utcOffsetMinutes ?? 0) * 60_000
  const threeHours = 3 * 60 * 60 * 1000
  for (let t = Math.ceil((opts.now - span + offset) / threeHours) * threeHours - offset; t <= opts.now; t += threeHours) {
    const x = g.x(t)
    img.fillRect(x, plot.top, x + 1, plot.bottom, CHART_COLORS.grid)
    const hour = String(new Date(t + offset).getUTCHours()).padStart(2, '0')
    img.text(x - 7, plot.bottom + 6, hour, CHART_COLORS.label, 2)
  }
  const steps = units === 'mmol/L' ? [5, 10, 15, 20].map((m) => m * MGDL_PER_MMOL) : [100, 200, 300]
  const edges = [opts.lowMgdl, opts.highMgdl]
  img.fillRect(plot.left, g.y(opts.highMgdl), plot.right, g.y(opts.lowMgdl) + 1, CHART_COLORS.band)
  for (const v of steps) {
    img.fillRect(plot.left, g.y(v), plot.right, g.y(v) + 1, CHART_COLORS.grid)
    if (edges.every((e) => Math.abs(g.y(e) - g.y(v)) > 12)) img.text(4, g.y(v) - 4, label(v, units), CHART_COLORS.label, 2)
  }
  for (const e of edges) {
    img.fillRect(plot.left, g.y(e), plot.right, g.y(e) + 1, CHART_COLORS.bandEdge)
    img.text(4, g.y(e) - 4, label(e, units), CHART_COLORS.label, 2)
  }
  img.fillRect(plot.left - 1, plot.top, plot.left, plot.bottom, CHART_COLORS.axis)
  img.fillRect(plot.left - 1, plot.bottom, plot.right, plot.bottom + 1, CHART_COLORS.axis)

  const shown = readings
    .filter((r): r is { systemTime: number; value: number } => r.value !== null && r.systemTime >= opts.now - span && r.systemTime <= opts.now)
    .sort((a, b) => a.systemTime - b.systemTime)
  for (let i = 1; i < shown.length; i++) {
    const a = shown[i - 1] as (typeof shown)[number]
    const b = shown[i] as (typeof shown)[number]
    if (b.systemTime - a.systemTime <= CHART_MAX_GAP_MS) img.line(g.x(a.systemTime), g.y(a.value), g.x(b.systemTime), g.y(b.value), CHART_COLORS.line, 2)
  }
  for (const r of shown) img.disc(g.x(r.systemTime), g.y(r.value), POINT_RADIUS, pointColor(r.value, opts.lowMgdl, opts.highMgdl))
  return encodePng(g.width, g.height, img.data)
}
