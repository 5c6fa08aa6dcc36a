/** Escaping for the HTML the web page is made of: every site and file name goes through here. */

const HTML_ESCAPES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
}

/** Text safe in HTML content and in quoted attribute values. */
export function escapeHtml(text: string | number): string {
  return String(text).replace(/[&<>"']/g, (c) => HTML_ESCAPES[c] as string)
}

/**
 * JSON safe inside `<script type="application/json">`: `<`, `>`, `&` and
 * the line separators are written as \u escapes, so no name can close the
 * element.
 */
export function jsonForScript(value: unknown): string {
  return JSON.stringify(value).replace(
    /[<>&\u2028\u2029]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  )
}

/**
 * The file name a site's page and API files have, in the export and in
 * URLs: site names are `[A-Za-z0-9_.-]` in practice, anything else (and a
 * leading dot) is written `%XX`, so no name can leave its directory.
 */
export function siteFileName(site: string): string {
  const out = Buffer.from(site, 'utf8')
    .toString('latin1')
    .replace(/[^A-Za-z0-9_.-]|^\./g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0')}`)
  return out === '' ? '%00' : out
}

/** The site a `siteFileName` stands for, or null when the name is not one. */
export function siteFromFileName(name: string): string | null {
  if (!/^(?:[A-Za-z0-9_.-]|%[0-9A-F]{2})+$/.test(name) || name.startsWith('.') || name === '%00') return null
  const bytes = Buffer.from(
    name.replace(/%([0-9A-F]{2})/g, (_, h: string) => String.fromCharCode(Number.parseInt(h, 16))),
    'latin1',
  )
  const site = bytes.toString('utf8')
  return siteFileName(site) === name ? site : null
}

/** A relative URL for a file name: every character a URL could misread is percent-encoded. */
export function href(...segments: string[]): string {
  return segments.map((s) => encodeURIComponent(s)).join('/')
}
