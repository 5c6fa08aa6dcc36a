/**
 * Filters that veto files from the missing and orphan lists, as the
 * original's `filters` module: a filter answers `protected(lfn)`, and
 * `Filters` vetoes a file when any of its filters does.
 */

/** Something that can veto a file. */
export interface Filter {
  /** `true` keeps the file out of the list. */
  protected(lfn: string): boolean
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

  protected(lfn: string): boolean {
    return this.filters.some((f) => f.protected(lfn))
  }
}

/** Vetoes files whose LFN contains one of the patterns (plain substrings). */
export class PatternFilter implements Filter {
  constructor(readonly patterns: readonly string[]) {}

  protected(lfn: string): boolean {
    return this.patterns.some((p) => p !== '' && lfn.includes(p))
  }
}

/** Vetoes exactly the LFNs it holds. */
export class FullFilter implements Filter {
  private readonly lfns: Set<string>

  constructor(lfns: Iterable<string> = []) {
    this.lfns = new Set(lfns)
  }

  get size(): number {
    return this.lfns.size
  }

  protected(lfn: string): boolean {
    return this.lfns.has(lfn)
  }
}

/** Vetoes files of the given datasets (by the CMS LFN to dataset rule). */
export class DatasetFilter implements Filter {
  private readonly datasets: Set<string>

  constructor(datasets: Iterable<string> = []) {
    this.datasets = new Set(datasets)
  }

  get size(): number {
    return this.datasets.size
  }

  protected(lfn: string): boolean {
    const dataset = datasetOf(lfn)
    return dataset !== null && this.datasets.has(dataset)
  }
}

/**
 * The CMS dataset of an LFN: `/store/KIND/ERA/PRIMARY/TIER/PROCESSING/...`
 * belongs to `/PRIMARY/ERA-PROCESSING/TIER`; null when the LFN is not laid
 * out so (fewer than four directories below `/store/KIND`).
 */
export function datasetOf(lfn: string): string | null {
  const parts = lfn.split('/')
  // ['', 'store', kind, era, primary, tier, processing, ..., file]
  if (parts.length < 8 || parts[0] !== '' || parts[1] !== 'store') return null
  const [era, primary, tier, processing] = parts.slice(3, 7) as [string, string, string, string]
  if (!era || !primary || !tier || !processing) return null
  return `/${primary}/${era}-${processing}/${tier}`
}
