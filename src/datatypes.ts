/**
 * The tree of a listing and the comparison, as the original's `datatypes`
 * module: `DirectoryInfo` wraps the native tree, `compare` writes
 * `BASE_missing.txt` and `BASE_orphan.txt`.
 */
import { config } from './config'
import { type Lfn, lfnsFromBuffer } from './lfn'
import type {
  CompareResult,
  ListingFormat,
  ListingsCounts,
  ListKind as NativeListKind,
  NodeInfo,
  Tree,
  TreeCounts,
  UnlistedDir,
} from './native'
import * as binding from './native'
import { DAY } from './time'

/** A directory tree: a storage listing or an inventory. */
export class DirectoryInfo {
  constructor(readonly tree: Tree) {}

  /** An empty tree whose directories count as listed at `listedAt` (unix seconds, default now). */
  static empty(listedAt?: number): DirectoryInfo {
    return new DirectoryInfo(new binding.Tree(listedAt))
  }

  /** Load a tree file. */
  static async load(file: string): Promise<DirectoryInfo> {
    return new DirectoryInfo(await binding.loadTreeAsync(file))
  }

  /**
   * Read a tree file or a listing file, whichever `file` holds (told by its
   * first bytes, read once: a pipe or a FIFO works). A file named `*.tree`
   * must hold a tree.
   */
  static async read(file: string, format: ListingFormat = 'auto'): Promise<DirectoryInfo> {
    return new DirectoryInfo(await binding.readInputAsync(file, format))
  }

  /** Read a listing file (`auto`: `LFN|size|mtime` and friends; `ral`: RAL dumps). */
  static async fromListing(file: string, format: ListingFormat = 'auto'): Promise<DirectoryInfo> {
    return new DirectoryInfo(await binding.readListingAsync(file, format))
  }

  /** Add files: parallel arrays of LFNs, sizes (bytes, -1 unknown) and mtimes (unix seconds). */
  addFiles(lfns: readonly string[], sizes: readonly number[], mtimes: readonly number[]): void {
    const buf = Buffer.from(lfns.length ? `${lfns.join('\0')}\0` : '', 'utf8')
    this.tree.addFiles(buf, Float64Array.from(sizes), Float64Array.from(mtimes))
  }

  save(file: string): void {
    this.tree.save(file)
  }

  get fileCount(): number {
    return this.tree.fileCount
  }

  get nodeCount(): number {
    return this.tree.nodeCount
  }

  get totalSize(): number {
    return this.tree.totalSize
  }

  get hash(): string {
    return this.tree.hash
  }

  counts(ignoreAgeDays = 0): TreeCounts {
    return this.tree.counts(ignoreAgeDays * DAY)
  }

  /** Whether the tree has the directory `path` (cheaper than `getNode`). */
  hasDirectory(path: string): boolean {
    return this.tree.hasDirectory(path)
  }

  getNode(path: string): NodeInfo | null {
    return this.tree.getNode(path)
  }

  /** LFNs of files at least `minAgeDays` old at their listing time, sorted by bytes. */
  getFiles(minAgeDays?: number): string[] {
    return this.tree.getFiles(minAgeDays === undefined ? undefined : minAgeDays * DAY)
  }

  /** Empty directories older than `ignoreAgeDays`, deepest first. */
  emptyNodesList(ignoreAgeDays = 0): string[] {
    return this.tree.emptyNodesList(ignoreAgeDays * DAY)
  }

  getUnlisted(): UnlistedDir[] {
    return this.tree.getUnlisted()
  }

  displays(maxDepth = 3): string {
    return this.tree.displays(maxDepth)
  }
}

/** A veto: `true` leaves the file out of the list. It sees the LFN as bytes (`Lfn`). */
export type Veto = (lfn: Lfn) => boolean

export interface CompareOptions {
  /** Vetoes orphans (protected datasets, deletion requests, ignored directories). */
  orphanCheck?: Veto
  /** Vetoes missing files (deletion requests). */
  missingCheck?: Veto
  /** Days; defaults to the configuration's IgnoreAge. */
  ignoreAge?: number
}

/** The lists of a comparison; names as bytes (`Lfn`: `lfnForDisplay` shows one). */
export interface Comparison {
  missing: Lfn[]
  missingSize: number
  orphan: Lfn[]
  orphanSize: number
  /** The native result, for the empty and unlisted directories and further writes. */
  result: CompareResult
}

/** A list of a comparison that vetoes apply to: `missing` and `orphan` files, `empty` directories. */
export type ListKind = Exclude<NativeListKind, 'unlisted'>

/** The entries of a list in its order: names, and for files their sizes (-1 unknown; none for directories). */
export interface Listed {
  lfns: Lfn[]
  sizes: number[]
}

/** A list of `result` as it is now: files with their sizes in one crossing, directories by name. */
export function listed(result: CompareResult, kind: ListKind): Listed {
  if (kind === 'empty') return { lfns: lfnsFromBuffer(result.lfnBuffer(kind)), sizes: [] }
  const columns = result.findings(kind)
  return { lfns: lfnsFromBuffer(columns.lfns), sizes: Array.from(columns.sizes) }
}

/**
 * The one veto path: keep the entries of a list (`entries`, read with
 * `listed`) that `veto` lets through, in `result` (its sizes and writes
 * follow) and in the entries returned.
 */
export function applyVeto(result: CompareResult, kind: ListKind, entries: Listed, veto: Veto | undefined): Listed {
  if (!veto) return entries
  const mask = Uint8Array.from(entries.lfns, (lfn) => (veto(lfn) ? 0 : 1))
  if (!mask.includes(0)) return entries
  result.keep(kind, mask)
  return { lfns: entries.lfns.filter((_, i) => mask[i]), sizes: entries.sizes.filter((_, i) => mask[i]) }
}

/**
 * Compare an inventory with a remote listing. With `outputBase`, writes
 * `BASE_missing.txt` and `BASE_orphan.txt` (one LFN a line, sorted by bytes).
 */
export async function compare(
  inventory: DirectoryInfo,
  remote: DirectoryInfo,
  outputBase?: string | null,
  options: CompareOptions = {},
): Promise<Comparison> {
  const ignoreAge = options.ignoreAge ?? config.get<number>('IgnoreAge')
  const result = await binding.compareAsync(inventory.tree, remote.tree, { ignoreAge: ignoreAge * DAY })
  const missing = applyVeto(result, 'missing', listed(result, 'missing'), options.missingCheck)
  const orphan = applyVeto(result, 'orphan', listed(result, 'orphan'), options.orphanCheck)
  if (outputBase) {
    result.write('missing', `${outputBase}_missing.txt`)
    result.write('orphan', `${outputBase}_orphan.txt`)
  }
  return {
    missing: missing.lfns,
    missingSize: result.missingSize,
    orphan: orphan.lfns,
    orphanSize: result.orphanSize,
    result,
  }
}

/**
 * Compare two listing files without building their trees: the lists a
 * comparison of their trees gives, at a fraction of the time and memory
 * for listings of many directories. Null when only trees can answer (a
 * tree file, a directory or a pipe, a line of unknown size, an LFN with an
 * empty component): read them with `DirectoryInfo.read` and `compare` then.
 */
export async function compareListingFiles(
  inventoryFile: string,
  remoteFile: string,
  options: { ignoreAge?: number; remoteFormat?: ListingFormat } = {},
): Promise<(ListingsCounts & { result: CompareResult }) | null> {
  const ignoreAge = options.ignoreAge ?? config.get<number>('IgnoreAge')
  const result = await binding.compareListingsAsync(inventoryFile, remoteFile, {
    ignoreAge: ignoreAge * DAY,
    remoteFormat: options.remoteFormat ?? 'auto',
  })
  const counts = result?.listingCounts
  return result && counts ? { result, ...counts } : null
}

export interface TreeInfo extends TreeCounts {
  hash: string
}

/** The figures of a saved tree or listing file. */
export async function getInfo(file: string): Promise<TreeInfo> {
  const info = await DirectoryInfo.read(file)
  return { ...info.counts(config.get<number>('IgnoreAge')), hash: info.hash }
}
