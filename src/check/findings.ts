/**
 * The second step of a check: what it found. The lists of the comparisons,
 * with the vetoes as the original's: missing files of datasets being
 * deleted (or whose LFN names no dataset) are not missing; orphans of
 * protected datasets (IGNORED, subscribed here, or with a replica or files
 * at the site), of datasets being deleted, below an IgnoreDirectories
 * pattern, being transferred here, or whose LFN names no dataset are no
 * orphans. A storage file whose path an inventory listing holds is no dark
 * data but a size mismatch: every veto but the dataset having a replica at
 * the site applies to it (IGNORED, subscribed or operator-protected
 * datasets keep even a wrong-size copy).
 */
import type { Copies, MissingBlock } from '../backends/types'
import { config } from '../config'
import { applyVeto, type Listed, type ListKind, listed, type Veto } from '../datatypes'
import { DatasetFilter, datasetDirectoryOf, type Filter, Filters, FullFilter, PatternFilter } from '../filters'
import { type Lfn, lfnsFromBuffer } from '../lfn'
import type { CompareResult, UnlistedDir } from '../native'
import type { Finding } from '../summary/store'
import { type Run, throwIfAborted } from './context'
import type { Held, Sides } from './sides'

export interface Findings {
  /** Missing files, with their sizes when known. */
  missing: Finding[]
  missingSize: number
  /** Orphans, size mismatches among them. */
  orphan: Finding[]
  orphanSize: number
  /** Orphans whose path no inventory listing holds. */
  plainOrphans: Finding[]
  /** Orphans whose path an inventory listing holds with another size (`inventorySize`; -2 a directory). */
  sizeMismatch: Finding[]
  empty: Lfn[]
  unlisted: UnlistedDir[]
  /** Unlisted directories whose listing did not time out. */
  unlistedBad: number
  /** Every top directory of the storage listing was unlisted. */
  storageUnlisted: boolean
}

/** The copies of the missing files at other sites. */
export interface Copied {
  /** Where else the missing files are: complete, owned replicas at ready sites. */
  copies: Map<Lfn, Copies>
  /** Missing files with no disk copy elsewhere. */
  noSource: Lfn[]
  /** Missing files with no disk copy nor tape copy elsewhere. */
  unrecoverable: Lfn[]
  missingBlocks: MissingBlock[]
}

export async function findings(run: Run, sides: Sides): Promise<Findings> {
  const { site, backend, log, signal } = run
  const { first, second, candidates, asked, lookups, roots } = sides
  const query = { signal }
  const deleting = await backend.inventory.deletionRequests(site, query)
  const protectedDatasets = await backend.inventory.protectedDatasets(site, query)
  const alwaysProtected = new DatasetFilter(await backend.inventory.alwaysProtectedDatasets(site, query))
  const incoming = new FullFilter(await backend.inventory.incomingFiles(site, query))
  const ignored = new PatternFilter(config.get<string[]>('IgnoreDirectories'))
  const beingDeleted = new DatasetFilter(deleting)
  const orphanVeto = new Filters(
    ignored,
    beingDeleted,
    incoming,
    new DatasetFilter(protectedDatasets),
    datasetsAtSite(
      asked.datasetDirs,
      lookups.map((h) => h.datasetDirs),
    ),
  )
  const inventorySizes = inventorySizesOf(
    asked.orphans,
    lookups.map((h) => h.orphans),
  )
  const mismatchVeto = new Filters(ignored, beingDeleted, incoming, alwaysProtected)
  const missing = keepListed(first, 'missing', listed(first, 'missing'), second, beingDeleted)
  const orphan = keepListed(first, 'orphan', candidates.orphan, second, {
    protected: (lfn) => (inventorySizes.has(lfn) ? mismatchVeto : orphanVeto).protected(lfn),
  })
  // a directory either inventory listing has (or names as a file) holds missing files: never removed
  const empty = keepListed(
    first,
    'empty',
    candidates.empty,
    null,
    new Filters(
      ignored,
      new FullFilter(
        heldByEither(
          asked.empties,
          lookups.map((h) => h.empties),
          () => true,
        ),
      ),
    ),
  ).lfns
  const unlisted = first.unlisted()
  const unlistedPaths = new Set(unlisted.map((u) => u.path))
  const storageUnlisted = roots.length > 0 && roots.every((r) => unlistedPaths.has(r))
  if (storageUnlisted) log.info('nothing on storage could be listed: every top directory is unlisted')
  const unlistedBad = unlisted.filter((u) => !u.timedOut).length

  // an orphan whose path either inventory listing holds is a size mismatch:
  // its storage copy is deleted only once the same mismatch is seen twice
  const orphanFindings = findingsOf(orphan)
  const sizeMismatch: Finding[] = []
  const plainOrphans: Finding[] = []
  for (const f of orphanFindings) {
    const held = inventorySizes.get(f.lfn)
    if (held === undefined) plainOrphans.push(f)
    else sizeMismatch.push({ ...f, inventorySize: held })
  }
  log.info(
    `missing ${missing.lfns.length} (${first.missingSize} bytes), orphan ${orphan.lfns.length} (${first.orphanSize} bytes), ${sizeMismatch.length} of them size mismatches`,
  )
  log.info(`empty directories ${empty.length}, unlisted ${unlisted.length}`)

  return {
    missing: findingsOf(missing),
    missingSize: first.missingSize,
    orphan: orphanFindings,
    orphanSize: first.orphanSize,
    plainOrphans,
    sizeMismatch,
    empty,
    unlisted,
    unlistedBad,
    storageUnlisted,
  }
}

/** Where else the missing files are: complete, owned replicas at ready sites. */
export async function copiesElsewhere(run: Run, found: Findings): Promise<Copied> {
  const { site, backend, signal } = run
  const missing = found.missing.map((f) => f.lfn)
  const copies = await backend.inventory.copiesElsewhere(site, missing, { signal })
  const noSource = missing.filter((l) => (copies.get(l)?.disk.length ?? 0) === 0)
  const unrecoverable = noSource.filter((l) => (copies.get(l)?.tape.length ?? 0) === 0)
  const missingBlocks = await backend.inventory.filelistToBlocklist(site, missing, { signal })
  throwIfAborted(run)
  return { copies, noSource, unrecoverable, missingBlocks }
}

/**
 * Keep the entries of `kind` (`entries`, as `first` lists them now) that
 * are also in `other`'s list and that no filter vetoes.
 */
function keepListed(
  first: CompareResult,
  kind: ListKind,
  entries: Listed,
  other: CompareResult | null,
  filter: Filter,
): Listed {
  const also = other ? new Set(lfnsFromBuffer(other.lfnBuffer(kind))) : null
  const veto: Veto = (lfn) => (also !== null && !also.has(lfn)) || filter.protected(lfn)
  return applyVeto(first, kind, entries, veto)
}

/** Files as findings; a size the listing did not give (-1) is no size, and matches any in later runs. */
function findingsOf(files: Listed): Finding[] {
  return files.lfns.map((lfn, i) => {
    const size = files.sizes[i] as number
    return size >= 0 ? { lfn, size } : { lfn }
  })
}

/**
 * Vetoes orphans of datasets that have files at the site: the original
 * protects every dataset with a replica at the site, and a dataset's files
 * lie below one directory (`datasetDirectoryOf`), which either inventory
 * listing then holds. `held` has one lookup of `dirs` a listing.
 */
function datasetsAtSite(dirs: readonly Lfn[], held: readonly Held[][]): Filter {
  const atSite = new Set(heldByEither(dirs, held, (h) => !h.file && h.directory))
  return {
    protected: (lfn) => {
      const d = datasetDirectoryOf(lfn)
      return d !== null && atSite.has(d)
    },
  }
}

/** The paths of `lfns` that either listing holds as `which` says (a file, a directory); `held` has one lookup of `lfns` a listing. */
function heldByEither(lfns: readonly Lfn[], held: readonly Held[][], which: (h: Held) => boolean): Lfn[] {
  if (lfns.length === 0) return []
  const found = held.map((hs) => hs.map((h) => (h.file || h.directory ? which(h) : false)))
  return lfns.filter((_, i) => found.some((f) => f[i]))
}

/** The inventory size of each of `lfns` that either inventory listing holds as a path (the first listing's first; -2 for a directory). */
function inventorySizesOf(lfns: readonly Lfn[], held: readonly Held[][]): Map<Lfn, number> {
  const out = new Map<Lfn, number>()
  for (const hs of held) {
    for (let i = 0; i < lfns.length; i++) {
      const h = hs[i] as Held
      const lfn = lfns[i] as Lfn
      if (out.has(lfn)) continue
      if (h.file) out.set(lfn, h.size)
      else if (h.directory) out.set(lfn, -2)
    }
  }
  return out
}
