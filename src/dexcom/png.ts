// A minimal PNG encoder (8-bit truecolour, no dependency): signature, IHDR, one IDAT, IEND
// (PNG spec, W3C 2003, §5 and §11). Each row uses filter 1 (Sub), which turns the flat colour
// runs of a chart into zeros that deflate well.
import { crc32, deflateSync } from 'node:zlib'

const SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])

function chunk(type: string, data: Buffer): Buffer {
  const out = Buffer.alloc(12 + data.length)
  out.writeUInt32BE(data.length, 0)
  out.write(type, 4, 'latin1')
  data.copy(out, 8)
  out.writeUInt32BE(crc32(out.subarray(4, 8 + data.length)), 8 + data.length)
  return out
}

/** Encodes `rgb` (width × height × 3 bytes, rows top to bottom) as a PNG file. */
export function encodePng(width: number, height: number, rgb: Uint8Array): Buffer {
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1)
    throw new TypeError('"width" and "height" must be positive integers')
  const stride = width * 3
  if (rgb.length !== stride * height) throw new TypeError(`"rgb" must hold ${stride * height} bytes, got ${rgb.length}`)
  const filtered = Buffer.alloc((stride + 1) * height)
  for (let y = 0; y < height; y++) {
    const row = y * stride
    const out = y * (stride + 1)
    filtered[out] = 1 // Sub: each byte minus the same channel one pixel left
    for (let i = 0; i < stride; i++) filtered[out + 1 + i] = ((rgb[row + i] as number) - (i >= 3 ? (rgb[row + i - 3] as number) : 0)) & 0xff
  }
  const ihdr = Buffer.alloc(13)
  ihdr.writeUInt32BE(width, 0)
  ihdr.writeUInt32BE(height, 4)
  ihdr[8] = 8 // bit depth
  ihdr[9] = 2 // colour type: truecolour
  ihdr[10] = 0 // deflate
  ihdr[11] = 0 // adaptive filtering
  ihdr[12] = 0 // no interlace
  return Buffer.concat([SIGNATURE, chunk('IHDR', ihdr), chunk('IDAT', deflateSync(filtered)), chunk('IEND', Buffer.alloc(0))])
}
