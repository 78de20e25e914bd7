// Parsing against the shapes of dexcom-api.md §3 (DX-SPEC field sets, the reference's
// constructed example), incl. the 39/401 edge values and mobile vs receiver timestamps.
import t from 'tap'
import {
  formatGlucose,
  mgdlToMmol,
  parseAlerts,
  parseCalibrations,
  parseDataRange,
  parseDevices,
  parseEgvs,
  parseEvents,
  trendArrow,
  type RawResponse,
} from '../../../src/integrations/dexcom/records.js'
import { dexcomTimeOffsetMinutes, displayOffsetMinutes, formatDexcomQueryTime, formatDexcomSyncTime, parseDexcomTime } from '../../../src/integrations/dexcom/time.js'

const ok = (body: unknown): RawResponse => ({ status: 200, contentType: 'application/json', body: JSON.stringify(body) })
const page = (recordType: string, records: unknown[]) => ok({ recordType, recordVersion: '3.0', userId: 'a1b2c3', records })

// The reference's constructed example (§3.3), a mobile record with offsets.
const MOBILE = {
  recordId: '5e0c6d1a-4f7b-4a53-9d0e-1c2b3a4d5e6f',
  systemTime: '2025-02-06T17:10:00+00:00',
  displayTime: '2025-02-06T09:10:00-08:00',
  transmitterId: '9f1e2d3c',
  transmitterTicks: 512345,
  value: 112,
  status: null,
  trend: 'flat',
  trendRate: -0.3,
  unit: 'mg/dL',
  rateUnit: 'mg/dL/min',
  displayDevice: 'iOS',
  transmitterGeneration: 'g7',
  transmitterGenerationVariant: 'g7',
  displayApp: 'G7',
}
// A receiver record: no offsets anywhere (§3.1), fractional seconds.
const RECEIVER = {
  ...MOBILE,
  recordId: 'r-2',
  systemTime: '2025-02-06T17:15:00.123',
  displayTime: '2025-02-06T12:15:00.123',
  displayDevice: 'receiver',
  transmitterGeneration: 'g6',
  transmitterGenerationVariant: 'g6',
  displayApp: null,
}

t.test('timestamps: no zone (UTC), Z and offsets, with and without fractions', async (t) => {
  const at = Date.UTC(2025, 1, 6, 17, 10, 0)
  const cases: [string, number | undefined][] = [
    ['2025-02-06T17:10:00', at],
    ['2025-02-06T17:10:00Z', at],
    ['2025-02-06T17:10:00z', at],
    ['2025-02-06T17:10:00+00:00', at],
    ['2025-02-06T09:10:00-08:00', at],
    ['2025-02-06T22:40:00+05:30', at],
    ['2025-02-06T22:40:00+0530', at],
    ['2025-02-06T17:10:00.5', at + 500],
    ['2025-02-06T17:10:00.1234567Z', at + 123],
    ['2025-02-06T09:10:00.250-08:00', at + 250],
    ['2025-02-06T17:10', at],
    ['2025-02-30T00:00:00', undefined],
    ['2025-13-01T00:00:00', undefined],
    ['2025-02-06 17:10:00', undefined],
    ['2025-02-06', undefined],
    ['17:10:00', undefined],
    ['2025-02-06T17:10:00+25:00', undefined],
    ['', undefined],
  ]
  for (const [text, expected] of cases) t.equal(parseDexcomTime(text), expected, JSON.stringify(text))
  t.equal(dexcomTimeOffsetMinutes('2025-02-06T09:10:00-08:00'), -480)
  t.equal(dexcomTimeOffsetMinutes('2025-02-06T17:10:00Z'), 0)
  t.equal(dexcomTimeOffsetMinutes('2025-02-06T17:10:00'), null)
  t.equal(formatDexcomQueryTime(at + 999), '2025-02-06T17:10:00', 'UTC, whole seconds, no offset')
  t.equal(formatDexcomSyncTime(at), '2025-02-06T17:10:00+00:00', 'lastSyncTime carries an offset')
  t.equal(displayOffsetMinutes({ systemTime: at, displayTime: '2025-02-06T09:10:00-08:00' }), -480, 'mobile: the offset it carries')
  t.equal(displayOffsetMinutes({ systemTime: at, displayTime: '2025-02-06T12:10:03' }), -300, 'receiver: wall clock minus system time')
  t.equal(displayOffsetMinutes({ systemTime: at, displayTime: null }), 0)
})

t.test('egvs: every documented field of a mobile and a receiver record', async (t) => {
  const result = parseEgvs(page('egv', [MOBILE, RECEIVER]))
  t.equal(result.userId, 'a1b2c3')
  t.same(result.invalid, [])
  t.same(result.records[0], { ...MOBILE, systemTime: Date.UTC(2025, 1, 6, 17, 10, 0) })
  t.same(result.records[1], { ...RECEIVER, systemTime: Date.UTC(2025, 1, 6, 17, 15, 0, 123) })
  t.equal(result.records[1]?.displayTime, '2025-02-06T12:15:00.123', 'receiver display time kept as sent')
})

t.test('egvs: the low and high edge values, nulls and absent optional fields', async (t) => {
  const low = { ...MOBILE, recordId: 'low', value: 39, status: 'low', trend: 'notComputable', trendRate: null }
  const high = { ...MOBILE, recordId: 'high', value: 401, status: 'high', trend: 'rateOutOfRange', trendRate: null }
  const bare = { recordId: 'bare', systemTime: '2025-02-06T17:20:00Z', value: null, trend: null }
  const { records, invalid } = parseEgvs(page('egv', [low, high, bare]))
  t.same(invalid, [])
  t.match(records[0], { value: 39, status: 'low', trend: 'notComputable', trendRate: null })
  t.match(records[1], { value: 401, status: 'high', trend: 'rateOutOfRange' })
  t.same(records[2], {
    recordId: 'bare', systemTime: Date.UTC(2025, 1, 6, 17, 20), displayTime: null, transmitterId: null, transmitterTicks: null,
    value: null, status: null, trend: null, trendRate: null, unit: null, rateUnit: null, displayDevice: null,
    transmitterGeneration: null, transmitterGenerationVariant: null, displayApp: null,
  })
  t.equal(formatGlucose(39, 'mg/dL', 'low'), '<40 mg/dL')
  t.equal(formatGlucose(401, 'mg/dL', 'high'), '>400 mg/dL')
  t.equal(formatGlucose(39, 'mmol/L', 'low'), '<2.2 mmol/L')
  t.equal(formatGlucose(401, 'mmol/L', 'high'), '>22.2 mmol/L')
  t.equal(formatGlucose(112, 'mg/dL'), '112 mg/dL')
  t.equal(formatGlucose(112, 'mmol/L'), '6.2 mmol/L')
  t.equal(mgdlToMmol(180), 10)
  t.equal(mgdlToMmol(70), 3.9)
})

t.test('egvs: unknown enum strings are kept, not rejected', async (t) => {
  const odd = { ...MOBILE, status: 'sensorNoise', trend: 'risingFast', displayDevice: 'watchOS', transmitterGeneration: 'g8', transmitterGenerationVariant: 'g8x', unit: 'unknown', rateUnit: 'unknown' }
  const { records, invalid } = parseEgvs(page('egv', [odd]))
  t.same(invalid, [])
  t.match(records[0], { status: 'sensorNoise', trend: 'risingFast', displayDevice: 'watchOS', transmitterGeneration: 'g8', unit: 'unknown' })
  t.equal(trendArrow('risingFast'), '', 'no arrow for a trend we do not know')
  t.same(['doubleUp', 'singleUp', 'fortyFiveUp', 'flat', 'fortyFiveDown', 'singleDown', 'doubleDown', 'none'].map(trendArrow), ['⇈', '↑', '↗', '→', '↘', '↓', '⇊', ''])
})

t.test('egvs: a record in mmol/L is converted to mg/dL', async (t) => {
  const mmol = { ...MOBILE, value: 6.2, trendRate: -0.1, unit: 'mmol/L', rateUnit: 'mmol/L/min' }
  t.match(parseEgvs(page('egv', [mmol])).records[0], { value: 112, trendRate: -1.8, unit: 'mg/dL', rateUnit: 'mg/dL/min' })
})

t.test('egvs: an unusable record is skipped and reported; the rest of the page is kept', async (t) => {
  const { records, invalid } = parseEgvs(page('egv', [MOBILE, { ...MOBILE, recordId: undefined }, { ...MOBILE, systemTime: 'yesterday' }, 'junk', { ...MOBILE, value: '112' }]))
  t.equal(records.length, 1)
  t.same(invalid.map((i) => i.index), [1, 2, 3, 4])
  t.match(invalid[0]?.problem, /^recordId: /)
  t.match(invalid[1]?.problem, /^systemTime: expected an ISO 8601 timestamp/)
  t.match(invalid[3]?.problem, /^value: /)
  t.notOk(invalid.some((i) => i.problem.includes('yesterday')), 'problems name the field, not its value')
})

t.test('a bad answer is a PROVIDER_BAD_RESPONSE naming the endpoint, never a crash', async (t) => {
  t.throws(() => parseEgvs({ status: 400, contentType: 'application/json', body: '{"error":"invalid_request"}' }), { code: 'PROVIDER_BAD_RESPONSE', message: 'Dexcom answered egvs with HTTP 400' })
  t.throws(() => parseEgvs({ status: 200, contentType: 'text/html', body: '<html>' }), { code: 'PROVIDER_BAD_RESPONSE', message: /egvs with a body that is not JSON \(text\/html\)/ })
  t.throws(() => parseEgvs(ok({ recordType: 'egv', userId: 'u' })), { code: 'PROVIDER_BAD_RESPONSE', message: /unexpected shape \(records: / })
  t.throws(() => parseDataRange(ok({ egvs: { start: { systemTime: 'x' } } })), { code: 'PROVIDER_BAD_RESPONSE', message: /dataRange with an unexpected shape/ })
  t.same(parseEgvs(page('egv', [])).records, [], 'an empty page')
})

t.test('events: value is text; subtypes, statuses and recorded times', async (t) => {
  const insulin = {
    recordId: 'e1', systemTime: '2025-02-06T17:00:00', displayTime: '2025-02-06T09:00:00-08:00', eventStatus: 'created', eventType: 'insulin',
    eventSubType: 'fastActing', value: '4.5', unit: 'units', transmitterId: 't', transmitterGeneration: 'g7', transmitterGenerationVariant: 'g7',
    displayDevice: 'iOS', recordedSystemTime: '2025-02-06T17:01:00', recordedDisplayTime: '2025-02-06T09:01:00-08:00',
  }
  const carbs = { ...insulin, recordId: 'e2', eventType: 'carbs', eventSubType: null, value: 45, unit: 'grams', recordedSystemTime: null, recordedDisplayTime: null }
  const note = { ...insulin, recordId: 'e3', eventStatus: 'deleted', eventType: 'notes', eventSubType: null, value: 'felt dizzy', unit: null }
  const future = { ...insulin, recordId: 'e4', eventType: 'sleep', eventSubType: 'deep' }
  const { records, invalid } = parseEvents(page('event', [insulin, carbs, note, future]))
  t.same(invalid, [])
  t.same(records[0], { ...insulin, systemTime: Date.UTC(2025, 1, 6, 17), recordedSystemTime: Date.UTC(2025, 1, 6, 17, 1) })
  t.match(records[1], { value: '45', eventSubType: null, recordedSystemTime: null })
  t.match(records[2], { eventStatus: 'deleted', value: 'felt dizzy', unit: null })
  t.match(records[3], { eventType: 'sleep', eventSubType: 'deep' })
})

t.test('dataRange: all three blocks, or some absent', async (t) => {
  const block = (a: string, b: string) => ({ start: { systemTime: a, displayTime: a }, end: { systemTime: b, displayTime: b } })
  const full = parseDataRange(ok({
    recordType: 'dataRange', recordVersion: '3.0', userId: 'u',
    calibrations: block('2025-01-01T00:00:00', '2025-02-01T00:00:00'),
    egvs: block('2025-01-01T00:05:00', '2025-02-06T17:10:00Z'),
    events: block('2025-01-02T08:00:00-08:00', '2025-02-05T08:00:00-08:00'),
  }))
  t.equal(full.egvs?.start.systemTime, Date.UTC(2025, 0, 1, 0, 5))
  t.equal(full.egvs?.end.systemTime, Date.UTC(2025, 1, 6, 17, 10))
  t.equal(full.events?.start.systemTime, Date.UTC(2025, 0, 2, 16))
  t.equal(full.calibrations?.end.displayTime, '2025-02-01T00:00:00')
  const sparse = parseDataRange(ok({ recordType: 'dataRange', recordVersion: '3.0', userId: 'u', egvs: null }))
  t.same([sparse.egvs, sparse.events, sparse.calibrations], [null, null, null])
})

t.test('calibrations and alerts', async (t) => {
  const cal = {
    recordId: 'c1', systemTime: '2025-02-06T17:00:00', displayTime: '2025-02-06T12:00:00', unit: 'mg/dL', value: 86, displayDevice: 'receiver',
    transmitterId: 't', transmitterTicks: 100, transmitterGeneration: 'g6', transmitterGenerationVariant: 'g6',
  }
  t.same(parseCalibrations(page('calibration', [cal])).records[0], { ...cal, systemTime: Date.UTC(2025, 1, 6, 17) })
  const alert = {
    recordId: 'a1', systemTime: '2025-02-06T17:00:00', displayTime: '2025-02-06T09:00:00-08:00', alertName: 'urgentLowSoon', alertState: 'activeAlarming',
    displayDevice: 'iOS', transmitterGeneration: 'g7', transmitterGenerationVariant: 'g7', transmitterId: 't', displayApp: 'G7',
  }
  t.same(parseAlerts(page('alert', [alert])).records[0], { ...alert, systemTime: Date.UTC(2025, 1, 6, 17) })
})

t.test('devices: alert schedules with their settings and override', async (t) => {
  const device = {
    lastUploadDate: '2025-02-06T17:12:00',
    transmitterId: 't', transmitterGeneration: 'g7', transmitterGenerationVariant: 'g7', displayDevice: 'iOS', displayApp: 'G7',
    alertSchedules: [
      {
        alertScheduleSettings: {
          alertScheduleName: 'Default', isEnabled: true, isDefaultSchedule: true, startTime: '00:00', endTime: '00:00',
          daysOfWeek: ['sunday', 'monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday'], isActive: true,
          override: { isOverrideEnabled: false, mode: 'quiet', endTime: '2025-02-06T18:00:00' },
        },
        alertSettings: [
          { alertName: 'high', value: 250, unit: 'mg/dL', snooze: 120, enabled: true, systemTime: '2025-01-01T00:00:00', displayTime: '2024-12-31T16:00:00-08:00', delay: 0, secondaryTriggerCondition: 0, soundTheme: 'modern', soundOutputMode: 'sound' },
          { alertName: 'rise', value: 3, unit: 'mg/dL/min', snooze: 0, enabled: false, systemTime: '2025-01-01T00:00:00', displayTime: null, delay: 0, secondaryTriggerCondition: 0, soundTheme: 'retro', soundOutputMode: 'match' },
        ],
      },
    ],
  }
  const { records, invalid } = parseDevices(page('device', [device, { transmitterId: 'old' }]))
  t.same(invalid, [])
  t.equal(records[0]?.lastUploadDate, Date.UTC(2025, 1, 6, 17, 12))
  t.same(records[0]?.alertSchedules[0]?.alertScheduleSettings?.daysOfWeek?.length, 7)
  t.equal(records[0]?.alertSchedules[0]?.alertScheduleSettings?.override?.mode, 'quiet')
  t.match(records[0]?.alertSchedules[0]?.alertSettings[0], { alertName: 'high', value: 250, snooze: 120, enabled: true, systemTime: Date.UTC(2025, 0, 1), soundTheme: 'modern' })
  t.equal(records[0]?.alertSchedules[0]?.alertSettings[1]?.soundTheme, 'retro', 'an unknown sound theme is kept')
  t.same(records[1]?.alertSchedules, [], 'a device without schedules')
})
