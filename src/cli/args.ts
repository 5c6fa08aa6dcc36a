/** A small, strict argument parser: every unknown option is a usage error. */
import { UsageError } from '../errors'
import { oneOf } from '../words'

export interface OptionSpec {
  /** `true` when the option takes a value. */
  value: boolean
  short?: string
}

export interface Parsed {
  positional: string[]
  options: Record<string, string | true>
}

export function parseArgs(args: string[], spec: Record<string, OptionSpec>, command: string): Parsed {
  const positional: string[] = []
  const options: Record<string, string | true> = {}
  const byShort = new Map(Object.entries(spec).flatMap(([k, s]) => (s.short ? [[s.short, k] as const] : [])))
  for (let i = 0; i < args.length; i++) {
    const a = args[i] as string
    if (a === '--') {
      positional.push(...args.slice(i + 1))
      break
    }
    if (a.startsWith('--') || (a.startsWith('-') && a.length === 2)) {
      let name = a.startsWith('--') ? a.slice(2) : byShort.get(a.slice(1))
      let inline: string | undefined
      if (name?.includes('=')) {
        inline = name.slice(name.indexOf('=') + 1)
        name = name.slice(0, name.indexOf('='))
      }
      const s = name === undefined ? undefined : spec[name]
      if (!s || name === undefined) throw new UsageError(`${command}: unknown option ${a} (see ${command} --help)`)
      if (s.value) {
        const v = inline ?? args[++i]
        if (v === undefined) throw new UsageError(`${command}: ${a} needs a value`)
        options[name] = v
      } else {
        if (inline !== undefined) throw new UsageError(`${command}: ${a} takes no value`)
        options[name] = true
      }
    } else {
      positional.push(a)
    }
  }
  return { positional, options }
}

/**
 * A numeric option, checked against its range. Every number has a maximum:
 * past it a value is a mistake, and some (a timeout of 1e20 seconds) would
 * overflow a clock in the native layer.
 */
export function numberOption(
  options: Record<string, string | true>,
  name: string,
  command: string,
  check: { min: number; max: number; integer?: boolean },
): number | undefined {
  const raw = options[name]
  if (raw === undefined) return undefined
  const n = Number(raw)
  const ok =
    typeof raw === 'string' &&
    raw.trim() !== '' &&
    Number.isFinite(n) &&
    (!check.integer || Number.isInteger(n)) &&
    n >= check.min &&
    n <= check.max
  if (!ok) {
    const want = check.integer ? 'a whole number' : 'a number'
    throw new UsageError(`${command}: --${name} must be ${want} from ${check.min} to ${check.max}, not ${String(raw)}`)
  }
  return n
}

/** An option that takes one of `choices` (the native module's values of an enum). */
export function choiceOption<T extends string>(
  options: Record<string, string | true>,
  name: string,
  command: string,
  choices: readonly T[],
): T | undefined {
  const raw = options[name]
  if (raw === undefined) return undefined
  const found = choices.find((c) => c === raw)
  if (found === undefined) throw new UsageError(`${command}: --${name} must be ${oneOf(choices)}, not ${String(raw)}`)
  return found
}
