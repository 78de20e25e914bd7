// The /glucose text, the report builder on a real database, and the dexcom config key.
import t from 'tap'
import { parseConfig } from '../../../src/config.js'
import { glucoseSummaryText, timeInRange } from '../../../src/integrations/dexcom/glucose-summary.js'
import type { Egv } from '../../../src/integrations/dexcom/records.js'
import { glucoseReport } from '../../../src/integrations/dexcom/report.js'
import { upsertReadings } from '../../../src/integrations/dexcom/store.js'
import { testConfig, testDeps } from '../../support/deps.js'
import { decodePng } from './png-decode.js'

const NOW = Date.UTC(2026, 10, 25, 12, 0, 0)
const MIN = 60_000
const range = { units: 'mg/dL' as const, lowMgdl: 70, highMgdl: 180, dataDelayMinutes: 180 }

function egv(minutesAgo: number, value: number | null, extra: Partial<Egv> = {}): Egv {
  return {
    recordId: `r-${minutesAgo}`, systemTime: NOW - minutesAgo * MIN, displayTime: null, transmitterId: null, transmitterTicks: null,
    value, status: null, trend: 'flat', trendRate: 0, unit: 'mg/dL', rateUnit: 'mg/dL/min', displayDevice: 'iOS',
    transmitterGeneration: 'g7', transmitterGenerationVariant: 'g7', displayApp: 'G7', ...extra,
  }
}

t.test('the latest reading with its arrow and age, and time in range', async (t) => {
  const lastDay = [egv(65, 112), ...[55, 60, 190, 200, 100, 110, 120, 130, 140].map((v, i) => egv(70 + i * 5, v))]
  const text = glucoseSummaryText({ latest: egv(65, 112), lastDay, now: NOW, ...range })
  t.equal(
    text,
    '112 mg/dL → · 1 h 5 min ago; Dexcom data arrives delayed\n' +
      'Time in range (70–180 mg/dL), last 24 h: 60 % · below 20 % · above 20 % (10 readings)',
  )
  t.equal(
    glucoseSummaryText({ latest: egv(65, 112, { trend: 'doubleDown' }), lastDay, now: NOW, ...range, units: 'mmol/L' }).split('\n')[0],
    '6.2 mmol/L ⇊ · 1 h 5 min ago; Dexcom data arrives delayed',
  )
  t.match(glucoseSummaryText({ latest: egv(65, 112), lastDay, now: NOW, ...range, units: 'mmol/L' }), /Time in range \(3\.9–10\.0 mmol\/L\)/)
})

t.test('edge values, unknown trends, no recent readings, nothing at all', async (t) => {
  t.match(glucoseSummaryText({ latest: egv(80, 39, { status: 'low', trend: 'notComputable' }), lastDay: [egv(80, 39)], now: NOW, ...range }), /^<40 mg\/dL · 1 h 20 min ago;/)
  t.match(glucoseSummaryText({ latest: egv(3, 401, { status: 'high', trend: 'weird' }), lastDay: [egv(3, 401)], now: NOW, ...range }), /^>400 mg\/dL · 3 min ago;.*\n.*above 100 %/)
  t.equal(
    glucoseSummaryText({ latest: egv(3000, 140), lastDay: [], now: NOW, ...range }),
    '140 mg/dL → · 2 days ago; Dexcom data arrives delayed\nTime in range (70–180 mg/dL): no readings in the last 24 h',
  )
  t.equal(glucoseSummaryText({ latest: undefined, lastDay: [], now: NOW, ...range }), 'No glucose readings stored yet; Dexcom data arrives up to 3 h late.')
  t.equal(glucoseSummaryText({ latest: undefined, lastDay: [], now: NOW, ...range, dataDelayMinutes: 60 }), 'No glucose readings stored yet; Dexcom data arrives up to 1 h late.', 'the delay is a setting (US: 1 h)')
  t.match(glucoseSummaryText({ latest: egv(-2, 120), lastDay: [egv(-2, 120)], now: NOW, ...range }), /^120 mg\/dL → · just now;/, 'a reading stamped ahead of the clock is "just now"')
  t.match(glucoseSummaryText({ latest: egv(0, 120), lastDay: [egv(0, 120)], now: NOW, ...range }), /^120 mg\/dL → · just now;/)
  t.same(timeInRange([egv(1, 70), egv(2, 180), egv(3, 69), egv(4, 181), egv(5, null)], 70, 180), { readings: 4, below: 1, inRange: 2, above: 1 })
})

t.test('glucoseReport reads the configured provider from SQLite: text and a PNG', async (t) => {
  const deps = testDeps(t, { config: testConfig(t, { dexcom: { provider: 'dexcom-eu', units: 'mmol/L', lowMgdl: 72, highMgdl: 162 } }), now: NOW })
  const none = glucoseReport(deps)
  t.same([none.text, none.hasChart], ['Dexcom is not connected. Connect it to see your glucose here.', false])
  upsertReadings(deps.db, 'dexcom-eu', [egv(70, 108, { displayTime: '2026-11-25T11:50:00+01:00' }), egv(75, 100)], NOW)
  upsertReadings(deps.db, 'dexcom', [egv(60, 300)], NOW) // another provider: not shown
  const report = glucoseReport(deps)
  t.equal(report.text.split('\n')[0], '6.0 mmol/L → · 1 h 10 min ago; Dexcom data arrives delayed')
  t.match(report.text, /4\.0–9\.0 mmol\/L\), last 24 h: 100 % .*\(2 readings\)/)
  t.equal(report.hasChart, true)
  const png = decodePng(await report.chart())
  t.equal(png.width, 780, 'the chart at 2× a phone width')
})

t.test('the dexcom config key: defaults, overrides, and every problem reported', async (t) => {
  const config = testConfig(t)
  t.same(config.dexcom, { provider: 'dexcom', units: 'mg/dL', lowMgdl: 70, highMgdl: 180, syncIntervalMs: 300_000, backfillDays: 90, dataDelayMinutes: 180 })
  t.ok(Object.isFrozen(config.dexcom))
  t.same(testConfig(t, { dexcom: { provider: 'dexcom-jp', units: 'mmol/L', backfillDays: 30 } }).dexcom.provider, 'dexcom-jp')
  const bad = () => parseConfig({ dexcom: { provider: 'nope', units: 'mg', lowMgdl: 200, highMgdl: 150, syncIntervalMs: 5, backfillDays: 0, extra: 1 } })
  t.throws(bad, { code: 'CONFIG_INVALID' })
  const message = (() => {
    try {
      bad()
    } catch (err) {
      return (err as Error).message
    }
    return ''
  })()
  for (const key of ['dexcom.units', 'dexcom.syncIntervalMs', 'dexcom.backfillDays', 'dexcom: Unrecognized key: "extra"'])
    t.match(message, key, `reports ${key}`)
  t.throws(() => parseConfig({ dexcom: { lowMgdl: 200, highMgdl: 150 } }), { message: /dexcom\.highMgdl: expected a value above dexcom\.lowMgdl/ })
  t.throws(() => parseConfig({ dexcom: { provider: 'nope' } }), { message: /dexcom\.provider: unknown provider "nope"/ })
})
