// SVG to PNG with resvg (@resvg/resvg-js: Rust, prebuilt binaries from npm). Loaded on first use,
// so a daemon that never draws a chart never maps the native library.
import { CHART_FONT_FAMILY, CHART_FONT_FILES } from './fonts.js'

type ResvgModule = typeof import('@resvg/resvg-js')
let resvg: Promise<ResvgModule> | undefined

/** Device pixels per SVG unit: phones have 2–3× screens, and Telegram shows photos full width. */
export const CHART_SCALE = 2

/**
 * Rasterises `svg` at `scale` device pixels per unit with only the bundled font (no system
 * fonts: the output is the same on every machine). Runs on libuv's thread pool, so the event
 * loop (the OAuth callback route) is not held up while a chart renders.
 */
export async function rasterise(svg: string, scale: number = CHART_SCALE): Promise<Buffer> {
  resvg ??= import('@resvg/resvg-js')
  const { renderAsync } = await resvg
  const image = await renderAsync(svg, {
    fitTo: { mode: 'zoom', value: scale },
    font: { loadSystemFonts: false, fontFiles: [...CHART_FONT_FILES], defaultFontFamily: CHART_FONT_FAMILY },
    logLevel: 'off',
  })
  return image.asPng()
}
