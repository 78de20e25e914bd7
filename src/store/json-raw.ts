// Keeps the exact source text of values read from a JSON object, so that values we did not
// change are written back byte for byte: JSON.parse + JSON.stringify would silently alter an
// integer above 2^53 (a 64-bit id in another tool's auth.json entry) or a float's spelling.

type RawMembers = Map<string, { value: unknown; text: string }>
/** Source text of each parsed object's members, for as long as the object lives. */
const rawSource = new WeakMap<object, RawMembers>()

const WS = new Set([' ', '\t', '\n', '\r'])

function skipWs(text: string, i: number): number {
  while (WS.has(text[i] as string)) i++
  return i
}

function endOfString(text: string, i: number): number {
  let j = i + 1
  while (text[j] !== '"') j += text[j] === '\\' ? 2 : 1
  return j + 1
}

function endOfValue(text: string, i: number): number {
  const c = text[i]
  if (c === '"') return endOfString(text, i)
  if (c !== '{' && c !== '[') {
    let j = i
    while (j < text.length && !WS.has(text[j] as string) && text[j] !== ',' && text[j] !== '}' && text[j] !== ']') j++
    return j
  }
  let depth = 0
  let j = i
  for (;;) {
    const d = text[j]
    if (d === '"') {
      j = endOfString(text, j)
      continue
    }
    if (d === '{' || d === '[') depth++
    else if (d === '}' || d === ']') depth--
    j++
    if (depth === 0) return j
  }
}

/**
 * Parses `text` (which must hold a JSON object) and remembers the source text of every
 * top-level value; returns undefined when the JSON is not an object.
 */
export function parseObjectKeepingRaw(text: string): Record<string, unknown> | undefined {
  const parsed: unknown = JSON.parse(text)
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return undefined
  const object = parsed as Record<string, unknown>
  // JSON.parse accepted it, so the scan below only has to find boundaries, not validate.
  const members: RawMembers = new Map()
  let i = skipWs(text, 0) + 1
  for (;;) {
    i = skipWs(text, i)
    if (text[i] === '}') break
    const keyEnd = endOfString(text, i)
    const key = JSON.parse(text.slice(i, keyEnd)) as string
    i = skipWs(text, skipWs(text, keyEnd) + 1)
    const end = endOfValue(text, i)
    members.set(key, { value: object[key], text: text.slice(i, end) })
    i = skipWs(text, end)
    if (text[i] === ',') i++
  }
  rawSource.set(object, members)
  return object
}

/**
 * Serialises an object two-space indented. A member whose value is still the one in `basis`
 * (an object returned by parseObjectKeepingRaw, typically the one `object` was derived from)
 * is written as its original text.
 */
export function stringifyKeepingRaw(object: Record<string, unknown>, basis: object = object): string {
  const source = rawSource.get(basis)
  const members = Object.entries(object)
    .filter(([, value]) => value !== undefined)
    .map(([key, value]) => {
      const original = source?.get(key)
      const raw = original && Object.is(original.value, value) ? original.text : undefined
      const text = raw ?? JSON.stringify(value, null, 2).replace(/\n/g, '\n  ')
      return `  ${JSON.stringify(key)}: ${text}`
    })
  return members.length ? `{\n${members.join(',\n')}\n}\n` : '{}\n'
}

/**
 * Lets `target` (a copy of `source` with some members replaced) keep the source text of the
 * members it shares with `source`: only members whose value is still the same object count.
 */
export function inheritRaw(target: object, source: object): void {
  const members = rawSource.get(source)
  if (members) rawSource.set(target, members)
}
