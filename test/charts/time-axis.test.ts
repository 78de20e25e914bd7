// Local-time labels for chart axes, and the SVG helpers' escaping.
import t from 'tap'
import { el, escapeXml, text } from '../../src/charts/svg.js'
import { clockLabel, dayLabel, hourTicks, offsetLabel, spanLabel } from '../../src/charts/time-axis.js'

const NOON = Date.UTC(2026, 10, 25, 12, 0) // Wed 25 Nov 2026, 12:00 UTC
const HOUR = 3_600_000

t.test('clock, day, offset and span labels in local time', async (t) => {
  t.equal(clockLabel(NOON, 0), '12:00')
  t.equal(clockLabel(NOON, -480), '04:00')
  t.equal(clockLabel(NOON, 330), '17:30')
  t.equal(dayLabel(NOON, 0), 'Wed 25 Nov')
  t.equal(dayLabel(NOON, -13 * 60), 'Tue 24 Nov', 'the local date, not the UTC one')
  t.same([0, 60, -480, 330, -210].map(offsetLabel), ['UTC', 'UTC+1', 'UTC−8', 'UTC+5:30', 'UTC−3:30'])
  t.equal(spanLabel(NOON - 24 * HOUR, NOON, 60), 'Tue 24 Nov 13:00 – Wed 25 Nov 13:00 (UTC+1)')
  t.equal(spanLabel(NOON - 6 * HOUR, NOON, 0), 'Wed 25 Nov 06:00 – 12:00 (UTC)', 'one day: the date once')
})

t.test('hour ticks fall on whole local hours; midnight is named by its weekday', async (t) => {
  const ticks = hourTicks(NOON - 24 * HOUR, NOON, 3, 60)
  t.same(ticks.map((k) => k.label), ['15:00', '18:00', '21:00', 'Wed', '03:00', '06:00', '09:00', '12:00'])
  t.same(ticks.filter((k) => k.midnight).map((k) => k.time), [Date.UTC(2026, 10, 24, 23, 0)], 'local midnight is 23:00 UTC at UTC+1')
  t.same(hourTicks(NOON - 2 * HOUR, NOON, 1, 330).map((k) => k.label), ['16:00', '17:00'], 'UTC+5:30: whole local hours, not whole UTC hours')
})

t.test('SVG helpers escape what they interpolate', async (t) => {
  t.equal(escapeXml(`<a href="x">&'`), '&lt;a href=&quot;x&quot;&gt;&amp;&#39;')
  t.equal(text('a < b & c', { x: 1.234, y: 2 }), '<text x="1.23" y="2">a &lt; b &amp; c</text>')
  t.equal(el('rect', { fill: '"/><script>', width: undefined }), '<rect fill="&quot;/&gt;&lt;script&gt;"/>')
})
