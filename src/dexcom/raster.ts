// A tiny RGB raster for charts: rectangles, lines, discs and 3×5 digits. Coordinates are pixels
// from the top left; anything outside the canvas is clipped.

export type Rgb = readonly [number, number, number]

// 3×5 glyphs, one row per 3-bit number (bit 2 = left column).
const GLYPHS: Record<string, readonly number[]> = {
  '0': [7, 5, 5, 5, 7],
  '1': [2, 6, 2, 2, 7],
  '2': [7, 1, 7, 4, 7],
  '3': [7, 1, 7, 1, 7],
  '4': [5, 5, 7, 1, 1],
  '5': [7, 4, 7, 1, 7],
  '6': [7, 4, 7, 5, 7],
  '7': [7, 1, 1, 1, 1],
  '8': [7, 5, 7, 5, 7],
  '9': [7, 5, 7, 1, 7],
  '.': [0, 0, 0, 0, 2],
  ':': [0, 2, 0, 2, 0],
}

export class Raster {
  readonly width: number
  readonly height: number
  readonly data: Uint8Array

  constructor(width: number, height: number, background: Rgb) {
    this.width = width
    this.height = height
    this.data = new Uint8Array(width * height * 3)
    this.fillRect(0, 0, width, height, background)
  }

  setPixel(x: number, y: number, c: Rgb): void {
    x = Math.round(x)
    y = Math.round(y)
    if (x < 0 || y < 0 || x >= this.width || y >= this.height) return
    const i = (y * this.width + x) * 3
    this.data[i] = c[0]
    this.data[i + 1] = c[1]
    this.data[i + 2] = c[2]
  }

  /** Fills [x0, x1) × [y0, y1). */
  fillRect(x0: number, y0: number, x1: number, y1: number, c: Rgb): void {
    const xa = Math.max(0, Math.round(Math.min(x0, x1)))
    const xb = Math.min(this.width, Math.round(Math.max(x0, x1)))
    const ya = Math.max(0, Math.round(Math.min(y0, y1)))
    const yb = Math.min(this.height, Math.round(Math.max(y0, y1)))
    for (let y = ya; y < yb; y++) {
      for (let x = xa; x < xb; x++) {
        const i = (y * this.width + x) * 3
        this.data[i] = c[0]
        this.data[i + 1] = c[1]
        this.data[i + 2] = c[2]
      }
    }
  }

  /** A line `thickness` pixels wide (a disc stamped along it). */
  line(x0: number, y0: number, x1: number, y1: number, c: Rgb, thickness = 1): void {
    const steps = Math.max(1, Math.ceil(Math.max(Math.abs(x1 - x0), Math.abs(y1 - y0))))
    for (let s = 0; s <= steps; s++) {
      const x = x0 + ((x1 - x0) * s) / steps
      const y = y0 + ((y1 - y0) * s) / steps
      if (thickness <= 1) this.setPixel(x, y, c)
      else this.disc(x, y, thickness / 2, c)
    }
  }

  disc(cx: number, cy: number, r: number, c: Rgb): void {
    const x0 = Math.round(cx)
    const y0 = Math.round(cy)
    const reach = Math.ceil(r)
    for (let dy = -reach; dy <= reach; dy++) {
      for (let dx = -reach; dx <= reach; dx++) if (dx * dx + dy * dy <= r * r) this.setPixel(x0 + dx, y0 + dy, c)
    }
  }

  /** Digits, '.' and ':' at `scale` pixels per glyph pixel; returns the width drawn. */
  text(x: number, y: number, s: string, c: Rgb, scale = 1): number {
    let cx = x
    for (const ch of s) {
      const glyph = GLYPHS[ch]
      if (glyph) {
        glyph.forEach((bits, row) => {
          for (let col = 0; col < 3; col++) if (bits & (4 >> col)) this.fillRect(cx + col * scale, y + row * scale, cx + (col + 1) * scale, y + (row + 1) * scale, c)
        })
      }
      cx += 4 * scale
    }
    return cx - x - scale
  }
}
