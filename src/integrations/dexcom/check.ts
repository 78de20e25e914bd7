// Hand-written readers for Dexcom records. A 90-day backfill is ~26,000 records; zod's per-record
// safeParse was most of the parse time, so each record goes through these plain functions instead
// (one typeof per field, a new object with only the known keys). A reader returns the value to
// keep or throws Invalid naming the field and the problem, never the value.
import { parseDexcomTime } from './time.js'

/** One problem with a value: where (field path) and what, without the value itself. */
export interface Issue {
  path: string[]
  message: string
}

/** Thrown by a reader; carries every problem found in the value. */
export class Invalid {
  readonly issues: Issue[]
  constructor(issues: Issue[]) {
    this.issues = issues
  }

  /** "field.sub: problem; other: problem", or "(record): problem" at the top. */
  describe(): string {
    return this.issues.map((i) => `${i.path.join('.') || '(record)'}: ${i.message}`).join('; ')
  }
}

/** Reads an unknown JSON value into T, or throws Invalid. */
export type Reader<T> = (value: unknown) => T
/** What a reader gives. */
export type Read<R> = R extends Reader<infer T> ? T : never

/** Throws Invalid with one problem at the value itself. */
export function fail(message: string): never {
  throw new Invalid([{ path: [], message }])
}

/** A documented value, or any other string the API sends (kept, not rejected). */
export type Loose<T extends string> = T | (string & {})

/** A string. */
export const string: Reader<string> = (v) => (typeof v === 'string' ? v : fail('expected a string'))
/** An array, its items left unread (a page's records are read one by one by the caller). */
export const unknownArray: Reader<unknown[]> = (v) => (Array.isArray(v) ? v : fail('expected an array'))
/** A string or null (missing counts as null). */
export const text: Reader<string | null> = (v) => (v == null ? null : typeof v === 'string' ? v : fail('expected a string'))
/** A number or null. */
export const num: Reader<number | null> = (v) => (v == null ? null : typeof v === 'number' ? v : fail('expected a number'))
/** An integer or null. */
export const int: Reader<number | null> = (v) => (v == null ? null : Number.isInteger(v) ? (v as number) : fail('expected an integer'))
/** A boolean or null. */
export const bool: Reader<boolean | null> = (v) => (v == null ? null : typeof v === 'boolean' ? v : fail('expected a boolean'))
/** An enum kept as a string: documented values typed, others kept. */
export const loose = <T extends string>(): Reader<Loose<T> | null> => text as Reader<Loose<T> | null>
/** A record id: a non-empty string of at most 200 characters. */
export const recordId: Reader<string> = (v) =>
  typeof v === 'string' && v.length >= 1 && v.length <= 200 ? v : fail('expected a string of 1 to 200 characters')
/** A Dexcom timestamp as epoch ms. */
export const time: Reader<number> = (v) => {
  const ms = typeof v === 'string' ? parseDexcomTime(v) : undefined
  return ms === undefined ? fail('expected an ISO 8601 timestamp') : ms
}
/** A timestamp or null. */
export const optionalTime: Reader<number | null> = (v) => (v == null ? null : time(v))

/** `reader`, or null when the value is missing or null. */
export const nullable =
  <T>(reader: Reader<T>): Reader<T | null> =>
  (v) =>
    v == null ? null : reader(v)

/** An array whose items all pass `reader`; problems are reported with the item's index. */
export const array =
  <T>(reader: Reader<T>): Reader<T[]> =>
  (v) => {
    if (!Array.isArray(v)) return fail('expected an array')
    const issues: Issue[] = []
    const out = v.map((item, index) => {
      try {
        return reader(item)
      } catch (e) {
        if (!(e instanceof Invalid)) throw e
        for (const i of e.issues) issues.push({ path: [String(index), ...i.path], message: i.message })
        return undefined as T
      }
    })
    if (issues.length > 0) throw new Invalid(issues)
    return out
  }

/** An array, or [] when missing or null. */
export const list =
  <T>(reader: Reader<T>): Reader<T[]> =>
  (v) =>
    v == null ? [] : array(reader)(v)

/** An object with exactly these fields read (others dropped); every failing field is reported. */
export function object<S extends Record<string, Reader<unknown>>>(shape: S): Reader<{ [K in keyof S]: Read<S[K]> }> {
  const keys = Object.keys(shape)
  const readers = keys.map((k) => shape[k] as Reader<unknown>)
  return (v) => {
    if (typeof v !== 'object' || v === null || Array.isArray(v)) return fail('expected an object')
    const source = v as Record<string, unknown>
    const out: Record<string, unknown> = {}
    let issues: Issue[] | undefined
    for (let k = 0; k < keys.length; k++) {
      const key = keys[k] as string
      try {
        out[key] = (readers[k] as Reader<unknown>)(source[key])
      } catch (e) {
        if (!(e instanceof Invalid)) throw e
        issues ??= []
        for (const i of e.issues) issues.push({ path: [key, ...i.path], message: i.message })
      }
    }
    if (issues) throw new Invalid(issues)
    return out as { [K in keyof S]: Read<S[K]> }
  }
}
