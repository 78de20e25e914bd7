// The /sleep chart: total sleep of the last 7 nights as bars, the sleep score above each, drawn
// as SVG with the shared helpers and rasterised by the shared renderer (src/charts/).
import { CHART_FONT_FAMILY } from '../../charts/fonts.js'
import { rasterise } from '../../charts/rasterise.js'
import { el, svgDocument, text } from '../../charts/svg.js'

/** One night of the chart: null where Oura has nothing for that day (the ring was off). */
export interface SleepNight {
  day: string
  totalSleepSeconds: number | null
  score: number | null
}

const COLORS = { background: '#ffffff', bar: '#5b6ee1', missing: '#e8eaed', grid: '#e8eaed', axis: '#9aa0a6', label: '#5f6368', title: '#202124' } as const
const WIDTH = 390
const HEIGHT = 240
const WEEKDAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat']

/** The SVG of the 7-night chart (exported for tests that read its text). */
export function sleepChartSvg(nights: readonly SleepNight[]): string {
  const font = { 'font-family': CHART_FONT_FAMILY }
  const plot = { left: 34, right: WIDTH - 12, top: 66, bottom: HEIGHT - 34 }
  const maxHours = Math.max(10, ...nights.map((n) => Math.ceil((n.totalSleepSeconds ?? 0) / 3600)))
  const y = (hours: number) => plot.bottom - (hours / maxHours) * (plot.bottom - plot.top)
  const slot = (plot.right - plot.left) / Math.max(nights.length, 1)
  const out = [el('rect', { width: WIDTH, height: HEIGHT, fill: COLORS.background })]
  out.push(text('Sleep, last 7 nights', { ...font, x: 12, y: 24, 'font-size': 16, 'font-weight': 600, fill: COLORS.title }))
  out.push(text('total sleep in hours; the sleep score above each night', { ...font, x: 12, y: 42, 'font-size': 10.5, fill: COLORS.label }))
  for (let h = 0; h <= maxHours; h += 2) {
    out.push(el('path', { d: `M${plot.left} ${y(h)}H${plot.right}`, stroke: COLORS.grid, 'stroke-width': 1 }))
    out.push(text(`${h} h`, { ...font, x: plot.left - 5, y: y(h) + 3.5, 'font-size': 10, 'text-anchor': 'end', fill: COLORS.label }))
  }
  nights.forEach((n, i) => {
    const cx = plot.left + slot * (i + 0.5)
    const w = Math.min(30, slot * 0.6)
    const weekday = WEEKDAYS[new Date(`${n.day}T00:00:00Z`).getUTCDay()] as string
    out.push(text(weekday, { ...font, x: cx, y: plot.bottom + 14, 'font-size': 10.5, 'text-anchor': 'middle', fill: COLORS.label }))
    out.push(text(n.day.slice(5), { ...font, x: cx, y: plot.bottom + 26, 'font-size': 9, 'text-anchor': 'middle', fill: COLORS.axis }))
    if (n.totalSleepSeconds === null) {
      out.push(text('no data', { ...font, x: cx, y: plot.bottom - 6, 'font-size': 9, 'text-anchor': 'middle', fill: COLORS.axis }))
      return
    }
    const top = y(n.totalSleepSeconds / 3600)
    out.push(el('rect', { x: cx - w / 2, y: top, width: w, height: plot.bottom - top, rx: 3, fill: COLORS.bar }))
    if (n.score !== null) out.push(text(String(n.score), { ...font, x: cx, y: top - 5, 'font-size': 11, 'font-weight': 600, 'text-anchor': 'middle', fill: COLORS.title }))
  })
  out.push(el('path', { d: `M${plot.left} ${plot.bottom}H${plot.right}`, stroke: COLORS.axis, 'stroke-width': 1 }))
  return svgDocument(WIDTH, HEIGHT, out)
}

/** The chart as a PNG (2× a phone-width layout). */
export function renderSleepChart(nights: readonly SleepNight[]): Promise<Buffer> {
  return rasterise(sleepChartSvg(nights))
}
