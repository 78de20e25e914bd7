// An independent PNG reader for the chart tests: checks the signature and every chunk's CRC,
// reads IHDR, inflates the IDAT stream and undoes all five filter types (PNG spec §9.2).
// 8-bit truecolour, RGB or RGBA (what resvg writes).
import { crc32, inflateSync } from 'node:zlib'

export interface DecodedPng {
  width: number
  height: number
  /** Chunk types in file order. */
  chunks: string[]
  /** Filter type used on each row. */
  filters: number[]
  /** Red, green, blue (alpha is not read: charts are opaque). */
  pixel(x: number, y: number): [number, number, number]
}

function paeth(a: number, b: number, c: number): number {
  const p = a + b - c
  const pa = Math.abs(p - a)
  const pb = Math.abs(p - b)
  const pc = Math.abs(p - c)
  return pa <= pb && pa <= pc ? a : pb <= pc ? b : c
}

export function decodePng(file: Buffer): DecodedPng {
  const signature = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])
  if (!file.subarray(0, 8).equals(signature)) throw new Error('not a PNG signature')
  const chunks: string[] = []
  const idat: Buffer[] = []
  let width = 0
  let height = 0
  let bpp = 3
  for (let at = 8; at < file.length; ) {
    const length = file.readUInt32BE(at)
    const type = file.toString('latin1', at + 4, at + 8)
    const data = file.subarray(at + 8, at + 8 + length)
    const crc = file.readUInt32BE(at + 8 + length)
    if (crc !== crc32(file.subarray(at + 4, at + 8 + length))) throw new Error(`bad CRC on ${type}`)
    chunks.push(type)
    if (type === 'IHDR') {
      width = data.readUInt32BE(0)
      height = data.readUInt32BE(4)
      const [depth, colour, compression, filter, interlace] = [data[8], data[9], data[10], data[11], data[12]]
      if (depth !== 8 || (colour !== 2 && colour !== 6) || compression !== 0 || filter !== 0 || interlace !== 0) throw new Error('unsupported IHDR')
      bpp = colour === 6 ? 4 : 3
    } else if (type === 'IDAT') idat.push(Buffer.from(data))
    at += 12 + length
  }
  if (chunks[0] !== 'IHDR' || chunks.at(-1) !== 'IEND') throw new Error(`bad chunk order ${chunks.join(',')}`)
  const raw = inflateSync(Buffer.concat(idat))
  const stride = width * bpp
  if (raw.length !== (stride + 1) * height) throw new Error(`IDAT holds ${raw.length} bytes, expected ${(stride + 1) * height}`)
  const out = new Uint8Array(stride * height)
  const filters: number[] = []
  for (let y = 0; y < height; y++) {
    const type = raw[y * (stride + 1)] as number
    filters.push(type)
    for (let i = 0; i < stride; i++) {
      const x = raw[y * (stride + 1) + 1 + i] as number
      const a = i >= bpp ? (out[y * stride + i - bpp] as number) : 0
      const b = y > 0 ? (out[(y - 1) * stride + i] as number) : 0
      const c = i >= bpp && y > 0 ? (out[(y - 1) * stride + i - bpp] as number) : 0
      const pred = type === 0 ? 0 : type === 1 ? a : type === 2 ? b : type === 3 ? (a + b) >> 1 : type === 4 ? paeth(a, b, c) : Number.NaN
      if (Number.isNaN(pred)) throw new Error(`bad filter type ${type} on row ${y}`)
      out[y * stride + i] = (x + pred) & 0xff
    }
  }
  return {
    width,
    height,
    chunks,
    filters,
    pixel: (x, y) => {
      const i = (y * width + x) * bpp
      return [out[i] as number, out[i + 1] as number, out[i + 2] as number]
    },
  }
}
