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
