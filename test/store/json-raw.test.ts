// Entries latchkey did not write survive a rewrite byte for byte, even where JSON.parse loses
// information (integers above 2^53, number spellings).
import t from 'tap'
import { parseObjectKeepingRaw, stringifyKeepingRaw } from '../../src/store/json-raw.js'

const OTHER = '{"id": 12345678901234567891, "ratio": 1.50, "tags": ["a]", "b\\"}"], "deep": {"x": [1, {"y": "}"}]}}'

t.test('untouched values are written exactly as read; changed ones are re-serialised', async (t) => {
  const text = `{\n  "other": ${OTHER},\n  "big": 9007199254740993,\n  "dexcom": {"type": "oauth", "access": "a"}\n}`
  const read = parseObjectKeepingRaw(text)
  t.ok(read)
  t.same(Object.getOwnPropertySymbols(read), [], 'the parsed object carries nothing extra')
  const next = { ...read, dexcom: { type: 'oauth', access: 'b' } }
  const written = stringifyKeepingRaw(next, read)
  t.match(written, `"other": ${OTHER}`, 'an object value keeps its text, 64-bit integer included')
  t.match(written, '"big": 9007199254740993', 'a top-level number keeps its digits')
  t.match(written, '"dexcom": {\n    "type": "oauth",\n    "access": "b"\n  }', 'the changed entry is re-serialised')
  t.same(JSON.parse(written).dexcom, { type: 'oauth', access: 'b' })
  t.notMatch(JSON.stringify(JSON.parse(text)), '12345678901234567891', 'plain JSON.parse would have lost it')
})

t.test('a removed key is gone, an added one appears, and the result re-reads the same', async (t) => {
  const read = parseObjectKeepingRaw('{"a": {"v": 1}, "b": [1,2], "c": "s"}') as Record<string, unknown>
  const { b: _dropped, ...rest } = read
  const written = stringifyKeepingRaw({ ...rest, d: { n: 2 } }, read)
  t.same(JSON.parse(written), { a: { v: 1 }, c: 's', d: { n: 2 } })
  t.same(stringifyKeepingRaw(parseObjectKeepingRaw(written) as Record<string, unknown>), written, 'stable on a second round')
  t.equal(stringifyKeepingRaw({}), '{}\n')
})

t.test('non-objects and escapes', async (t) => {
  t.equal(parseObjectKeepingRaw('[1]'), undefined)
  t.equal(parseObjectKeepingRaw('"x"'), undefined)
  t.throws(() => parseObjectKeepingRaw('{"a": '))
  const read = parseObjectKeepingRaw('{"k\\"ey": {"s": "\\\\"}, "n": null, "t": true}') as Record<string, unknown>
  t.equal(stringifyKeepingRaw(read), '{\n  "k\\"ey": {"s": "\\\\"},\n  "n": null,\n  "t": true\n}\n')
})
