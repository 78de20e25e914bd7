// A few helpers to write SVG by hand: charts are small, fixed layouts, so strings beat a DOM.

const XML_ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }

/** Escapes text for SVG element content and quoted attributes. */
export function escapeXml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => XML_ESCAPES[c] as string)
}

/** A coordinate with at most two decimals: shorter SVG, same picture at any zoom a chart uses. */
export function num(n: number): string {
  return String(Math.round(n * 100) / 100)
}

export type Attrs = Record<string, string | number | undefined>

/**
 * One element: numbers are rounded with `num`, strings escaped, undefined attributes left out.
 * Children are SVG already (from `el` or `text`).
 *
 * @example el('rect', { x: 0, y: 0, width: 10, height: 4, fill: '#eee' })
 */
export function el(tag: string, attrs: Attrs, ...children: string[]): string {
  let out = `<${tag}`
  for (const [k, v] of Object.entries(attrs)) if (v !== undefined) out += ` ${k}="${typeof v === 'number' ? num(v) : escapeXml(v)}"`
  return children.length ? `${out}>${children.join('')}</${tag}>` : `${out}/>`
}

/** A <text> element whose content is escaped here. */
export function text(content: string, attrs: Attrs): string {
  return el('text', attrs, escapeXml(content))
}

/** The outer <svg> of a chart `width` × `height` units (CSS px at 1×). */
export function svgDocument(width: number, height: number, body: string[]): string {
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${num(width)}" height="${num(height)}" viewBox="0 0 ${num(width)} ${num(height)}">${body.join('')}</svg>`
}
