/**
 * Filters that veto files from the missing and orphan lists, as the
 * original's `filters` module: a filter answers `protected(lfn)`, and
 * `Filters` vetoes a file when any of its filters does. Filters see LFNs
 * as bytes (`Lfn`); patterns and dataset names, which are text, are
 * turned into bytes once, when the filter is made.
 */
import { type Lfn, lfnFromText } from './lfn'

/** Something that can veto a file. */
export interface Filter {
  /** `true` keeps the file out of the list. */
  protected(lfn: Lfn): boolean
}

/** Vetoes a file when any of its filters does. */
export class Filters implements Filter {
  private readonly filters: Filter[]

  constructor(...filters: Filter[]) {
    this.filters = filters
  }

  add(filter: Filter): void {
    this.filters.push(filter)
  }

  protected(lfn: Lfn): boolean {
    return this.filters.some((f) => f.protected(lfn))
  }
}

/** Vetoes files whose LFN contains one of the patterns (plain substrings). */
export class PatternFilter implements Filter {
  private readonly patterns: Lfn[]

  constructor(patterns: readonly string[]) {
    this.patterns = patterns.filter((p) => p !== '').map(lfnFromText)
  }

  protected(lfn: Lfn): boolean {
    return this.patterns.some((p) => lfn.includes(p))
  }
}

/** Vetoes exactly the LFNs it holds. */
export class FullFilter implements Filter {
  private readonly lfns: Set<Lfn>

  constructor(lfns: Iterable<Lfn> = []) {
    this.lfns = new Set(lfns)
  }

  get size(): number {
    return this.lfns.size
  }

  protected(lfn: Lfn): boolean {
    return this.lfns.has(lfn)
  }
}

/**
 * Vetoes files of the given datasets (by the CMS LFN to dataset rule) and,
 * as the original's `DatasetFilter`, every file whose LFN cannot be read as
 * a dataset's: what the tool cannot place, it never touches.
 */
export class DatasetFilter implements Filter {
  private readonly datasets: Set<Lfn>

  /** `datasets`: names as bytes (`lfnFromText` makes them of text). */
  constructor(datasets: Iterable<Lfn> = []) {
    this.datasets = new Set(datasets)
  }

  get size(): number {
    return this.datasets.size
  }

  protected(lfn: Lfn): boolean {
    const dataset = datasetOf(lfn)
    return dataset === null || this.datasets.has(dataset)
  }
}

/**
 * The CMS dataset of an LFN, as the original reads it: with `parts` the LFN
 * split at `/` (`['', 'store', KIND, ERA, PRIMARY, TIER, PROCESSING, ...]`),
 * the dataset is `/PRIMARY/ERA-PROCESSING/TIER`; null when the LFN has fewer
 * parts than that (the original's parse error) or is not below `/store`.
 */
export function datasetOf<T extends string>(lfn: T): T | null {
  const parts = lfn.split('/')
  if (parts.length < 7 || parts[0] !== '' || parts[1] !== 'store') return null
  const [era, primary, tier, processing] = parts.slice(3, 7) as [string, string, string, string]
  return `/${primary}/${era}-${processing}/${tier}` as T
}

/**
 * The directory holding a dataset's files (`/store/KIND/ERA/PRIMARY/TIER/PROCESSING`),
 * or null when the LFN is not laid out so.
 */
export function datasetDirectoryOf<T extends string>(lfn: T): T | null {
  const parts = lfn.split('/')
  if (parts.length < 8 || parts[0] !== '' || parts[1] !== 'store') return null
  return parts.slice(0, 7).join('/') as T
}
