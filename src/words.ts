/** Counts in words, with the noun's singular or plural form: "1 directory", "2 directories". */
const IRREGULAR: Record<string, string> = { directory: 'directories', entry: 'entries' }

/** `n` and the noun, singular for exactly one; `many` is the plural when not the regular one. */
export function plural(n: number, noun: string, many?: string): string {
  return `${n} ${n === 1 ? noun : (many ?? IRREGULAR[noun] ?? `${noun}s`)}`
}

/** Choices in words: "a", "a or b", "a, b or c". */
export function oneOf(choices: readonly string[]): string {
  return choices.length < 2 ? (choices[0] ?? '') : `${choices.slice(0, -1).join(', ')} or ${choices.at(-1)}`
}

/**
 * Bytes in the decimal (SI) unit that suits them, as storage is sold:
 * `16.8 kB`, `2.3 TB`. With `fine`, values under 10 of their unit get two
 * decimals (`2.35 TB`).
 */
export function formatBytes(bytes: number, options: { fine?: boolean } = {}): string {
  const units = ['B', 'kB', 'MB', 'GB', 'TB', 'PB']
  let v = bytes
  let u = 0
  while (v >= 1000 && u < units.length - 1) {
    v /= 1000
    u++
  }
  if (u === 0) return `${Math.round(bytes)} B`
  return `${v.toFixed(options.fine && v < 10 ? 2 : 1)} ${units[u]}`
}
