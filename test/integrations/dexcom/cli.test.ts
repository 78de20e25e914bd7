// `latchkey dexcom readings` through main(), on a real SQLite file filled by the store.
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { parseSince } from '../../../src/time-format.js'
import { EXIT, main } from '../../../src/cli/main.js'
import type { Output } from '../../../src/cli/output.js'
import { openDb } from '../../../src/db/open.js'
import type { Egv } from '../../../src/integrations/dexcom/records.js'
import { upsertReadings } from '../../../src/integrations/dexcom/store.js'
import { tempDir, type Teardown } from '../../support/deps.js'

function capture(): Output & { out: string[]; err: string[] } {
  const out: string[] = []
  const err: string[] = []
  return { out, err, info: (l) => out.push(l), error: (l) => err.push(l) }
}

const MIN = 60_000

function egv(id: string, time: number, value: number | null, extra: Partial<Egv> = {}): Egv {
  return {
    recordId: id, systemTime: time, displayTime: '2026-01-01T00:00:00-08:00', transmitterId: null, transmitterTicks: null, value, status: null,
    trend: 'singleUp', trendRate: 2.5, unit: 'mg/dL', rateUnit: 'mg/dL/min', displayDevice: 'iOS', transmitterGeneration: 'g7',
    transmitterGenerationVariant: 'g7', displayApp: 'G7', ...extra,
  }
}

function setup(t: Teardown, dexcom: Record<string, unknown> = {}) {
  const dir = tempDir(t)
  const configPath = join(dir, 'config.json')
  writeFileSync(configPath, JSON.stringify({ dataDir: join(dir, 'data'), authFile: join(dir, 'auth.json'), dexcom }))
  const now = Date.now()
  const db = openDb(join(dir, 'data', 'latchkey.db'))
  upsertReadings(db, 'dexcom', [
    egv('old', now - 30 * 60 * MIN, 99),
    egv('a', now - 120 * MIN, 39, { status: 'low', trend: 'doubleDown' }),
    egv('b', now - 60 * MIN, 112),
    egv('c,"quoted"', now - 55 * MIN, null, { trend: null }),
  ], now)
  db.close()
  return { env: { LATCHKEY_CONFIG: configPath, HOME: dir }, now }
}

t.test('--json: the readings since 24h, oldest first, in the configured units', async (t) => {
  const { env } = setup(t, { units: 'mmol/L' })
  const out = capture()
  t.equal(await main(['dexcom', 'readings', '--since', '24h', '--json'], env, out), EXIT.ok)
  const rows = JSON.parse(out.out.join('\n')) as Record<string, unknown>[]
  t.same(rows.map((r) => r.recordId), ['a', 'b', 'c,"quoted"'], 'the 30-hour-old reading is left out')
  t.match(rows[0], { valueMgdl: 39, value: 2.2, unit: 'mmol/L', status: 'low', trend: 'doubleDown' })
  t.match(rows[1], { valueMgdl: 112, value: 6.2, trendRate: 2.5, displayDevice: 'iOS' })
  t.match(rows[2], { valueMgdl: null, value: null })
})

t.test('--csv quotes what needs quoting; the default table; --since 90m', async (t) => {
  const { env } = setup(t)
  const csv = capture()
  t.equal(await main(['dexcom', 'readings', '--csv'], env, csv), EXIT.ok)
  const lines = csv.out.join('\n').split('\n')
  t.equal(lines[0], 'record_id,system_time,display_time,value_mgdl,value,unit,status,trend,trend_rate,display_device')
  t.equal(lines.length, 4)
  t.match(lines[1], /^a,\d{4}-\d\d-\d\dT[\d:.]+Z,2026-01-01T00:00:00-08:00,39,39,mg\/dL,low,doubleDown,2.5,iOS$/)
  t.match(lines[3], /^"c,""quoted""",/)
  const table = capture()
  t.equal(await main(['dexcom', 'readings', '--since', '90m'], env, table), EXIT.ok)
  const text = table.out.join('\n')
  t.match(text, /112 mg\/dL {2}↑/)
  t.notMatch(text, /<40 mg\/dL/, '2 h ago is before 90m')
})

t.test('the table shows local time in $TZ and names the zone', async (t) => {
  const { env, now } = setup(t)
  const kolkata = capture()
  t.equal(await main(['dexcom', 'readings'], { ...env, TZ: 'Asia/Kolkata' }, kolkata), EXIT.ok)
  const lines = kolkata.out.join('\n').split('\n')
  t.match(lines[0], /^time \(Asia\/Kolkata\) {2}\s+value {2}trend {2}display time$/)
  // UTC+05:30 all year (no DST), computed independently of the formatter.
  const b = new Date(now - 60 * MIN + 330 * MIN).toISOString().slice(0, 16).replace('T', ' ')
  t.match(lines[2], new RegExp(`^${b} +112 mg/dL {2}↑ +2026-01-01T00:00:00-08:00$`))
  t.equal((lines[2] ?? '').indexOf('112') + '112 mg/dL'.length, (lines[0] ?? '').indexOf('value') + 'value'.length, 'values line up under their heading')

  const utc = capture()
  t.equal(await main(['dexcom', 'readings'], { ...env, TZ: 'UTC' }, utc), EXIT.ok)
  t.match(utc.out[0], new RegExp(`^time \\(UTC\\) +value[^]*\n${new Date(now - 60 * MIN).toISOString().slice(0, 16).replace('T', ' ')} +112 mg/dL`))

  const posix = capture()
  t.equal(await main(['dexcom', 'readings'], { ...env, TZ: 'EST5EDT,M3.2.0,M11.1.0x' }, posix), EXIT.ok, 'a TZ Intl cannot name: the system zone, no crash')
  t.match(posix.out[0], new RegExp(`^time \\(${Intl.DateTimeFormat().resolvedOptions().timeZone.replace('/', '\\/')}\\)`))
})

t.test('usage errors and unknown providers', async (t) => {
  const { env } = setup(t)
  for (const args of [['dexcom'], ['dexcom', 'readings', '--since', 'yesterday'], ['dexcom', 'readings', '--csv', '--json'], ['dexcom', 'writings']]) {
    const out = capture()
    t.equal(await main(args, env, out), EXIT.usage, args.join(' '))
    t.match(out.err.join('\n'), /^(error: |Usage: latchkey dexcom)/, 'says what is wrong')
  }
  const bad = capture()
  t.equal(await main(['dexcom', 'readings', '--bogus'], env, bad), EXIT.usage)
  const unknown = capture()
  t.equal(await main(['dexcom', 'readings', '--provider', 'nope'], env, unknown), EXIT.failed)
  t.match(unknown.err.join('\n'), /unknown provider "nope"/)
  const none = capture()
  t.equal(await main(['dexcom', 'readings', '--provider', 'dexcom-eu'], env, none), EXIT.ok)
  t.match(none.err.join('\n'), /^no dexcom-eu readings since /)
})

t.test('parseSince', async (t) => {
  const now = Date.UTC(2026, 0, 2)
  t.equal(parseSince('24h', now), now - 86_400_000)
  t.equal(parseSince('30m', now), now - 1_800_000)
  t.equal(parseSince('7d', now), now - 7 * 86_400_000)
  t.equal(parseSince('2w', now), now - 14 * 86_400_000)
  t.equal(parseSince('2026-01-01T08:00:00Z', now), Date.UTC(2026, 0, 1, 8))
  t.equal(parseSince('5y', now), undefined)
  t.equal(parseSince('2026-99-01', now), undefined)
})
