/**
 * The first step of a check: list both sides. The inventory is listed, the
 * storage, then the inventory again; each inventory listing is compared
 * with the storage listing. The first comparison runs before the inventory
 * is listed again, and what the later steps ask of the first listing is
 * looked up then, so that the check never holds more than two trees
 * (storage and one inventory).
 */
import { config } from '../config'
import { proxyWarning } from '../credentials'
import { type DirectoryInfo, type Listed, listed } from '../datatypes'
import { datasetDirectoryOf } from '../filters'
import { type Lfn, lfnsToBuffer } from '../lfn'
import { type CompareResult, compareAsync, nativeTask, type Tree } from '../native'
import { listSite, type SiteListing, siteCredentials, siteRoots, siteTarget } from '../site-listing'
import type { SummaryStore } from '../summary/store'
import { DAY } from '../time'
import { plural } from '../words'
import { type Run, throwIfAborted } from './context'

/** What a tree holds at a path: a file (with its size, -1 unknown), a directory, or nothing. */
export type Held = { file: true; size: number } | { file: false; directory: boolean }

/** The paths the later steps ask each inventory listing about. */
export interface Asked {
  orphans: readonly Lfn[]
  datasetDirs: readonly Lfn[]
  empties: readonly Lfn[]
}

/** What one inventory listing holds at each asked path, in the order asked. */
export interface Lookup {
  orphans: Held[]
  datasetDirs: Held[]
  empties: Held[]
}

/** Both sides of a check, compared. */
export interface Sides {
  /** The storage listing and the options it was made with. */
  storage: SiteListing
  /** The top directories listed. */
  roots: string[]
  /** A proxy that will not outlast the listing. */
  warning: string | null
  /** The comparison with the first inventory listing: the lists the later steps keep or veto. */
  first: CompareResult
  /** The comparison with the second, unless it held the same files as the first. */
  second: CompareResult | null
  /** The first comparison's orphans (with their sizes) and empty directories, before any veto. */
  candidates: { orphan: Listed; empty: Listed }
  asked: Asked
  /** One lookup of `asked` per inventory listing. */
  lookups: Lookup[]
}

/** The listing roots the inventory has files or directories in. */
export function rootsFor(inventory: DirectoryInfo): string[] {
  return siteRoots().filter((root) => inventory.hasDirectory(root))
}

export async function listSides(run: Run): Promise<Sides> {
  const { site, backend, log, signal } = run
  const ignoreAge = config.get<number>('IgnoreAge')
  const inventory = await backend.inventory.listFiles(site, { signal })
  log.info(`inventory: ${plural(inventory.fileCount, 'file')}`)
  throwIfAborted(run)

  // a proxy that will not outlast the listing: said before it starts, and kept with the run
  const warning = await credentialWarning(site, run.store)
  if (warning) log.info(`warning: ${warning}`)

  const roots = rootsFor(inventory)
  log.info(`listing ${roots.length ? roots.join(', ') : 'nothing (the inventory has none of the top directories)'}`)
  const storage = await listSite(site, { roots, signal, log: (line) => log.info(line) })
  const remote = storage.tree
  const remoteCounts = remote.counts(ignoreAge)
  log.info(
    `storage: ${plural(remote.fileCount, 'file')} in ${plural(remote.nodeCount, 'directory')}, ${remoteCounts.unlisted} unlisted`,
  )
  throwIfAborted(run)
  await run.options.afterRemoteListing?.(site)

  const age = ignoreAge * DAY
  const compareOptions = { ignoreAge: age }
  // a compare of millions of files takes well under a second: a stop is heard before and after it
  const compare = (inv: DirectoryInfo) =>
    nativeTask('the comparison', signal, (s) => compareAsync(inv.tree, remote.tree, compareOptions, s))
  const first = await compare(inventory)
  throwIfAborted(run)
  const candidates = { orphan: listed(first, 'orphan'), empty: listed(first, 'empty') }
  const asked: Asked = {
    orphans: candidates.orphan.lfns,
    datasetDirs: datasetDirsOf(candidates.orphan.lfns),
    empties: candidates.empty.lfns,
  }
  const firstVerdicts = inventory.tree.verdictHash(age)
  const lookups = [lookUpAll(inventory.tree, asked)]
  inventory.tree.clear()

  const inventoryAgain = await backend.inventory.listFiles(site, { signal })
  throwIfAborted(run)
  // the same verdicts: the same files, sizes, and files old enough to compare
  const same = inventoryAgain.tree.verdictHash(age) === firstVerdicts
  log.info(`inventory again: ${plural(inventoryAgain.fileCount, 'file')}${same ? ' (unchanged)' : ''}`)
  const second = same ? null : await compare(inventoryAgain)
  throwIfAborted(run)
  lookups.push(lookUpAll(inventoryAgain.tree, asked))
  return { storage, roots, warning, first, second, candidates, asked, lookups }
}

/**
 * The warning of a site whose proxy (its `Credentials`, or the
 * environment's) expires before a run as long as its last good one would
 * end; null for storage reached without credentials (local, dumps).
 */
async function credentialWarning(site: string, store: SummaryStore): Promise<string | null> {
  const where = (() => {
    try {
      // only the access method matters here: any door will do (the site's may be found later)
      return siteTarget(site, 'door')
    } catch {
      return null
    }
  })()
  if (!where || 'dump' in where || where.method === 'local') return null
  const own = siteCredentials(site)
  // a site given a keytab or a token and no proxy does not use the environment's proxy
  if (!own.X509_USER_PROXY && (own.XrdSecSSSKT || own.BEARER_TOKEN_FILE)) return null
  const last = (await store.history(site)).filter((r) => !r.failed).pop()
  return proxyWarning({ ...process.env, ...own }, last ? last.duration : null)
}

/** The dataset directories the orphans lie below (see `datasetDirectoryOf`). */
function datasetDirsOf(orphans: readonly Lfn[]): Lfn[] {
  return [...new Set(orphans.map((l) => datasetDirectoryOf(l)).filter((d): d is Lfn => d !== null))]
}

/** What an inventory listing holds at each path the later steps ask about. */
function lookUpAll(tree: Tree, asked: Asked): Lookup {
  const at = (lfns: readonly Lfn[]) => (lfns.length ? lookUp(tree, lfns) : [])
  return { orphans: at(asked.orphans), datasetDirs: at(asked.datasetDirs), empties: at(asked.empties) }
}

/** Look the given paths up in a tree: a file (with its size, -1 unknown), a directory, or nothing. */
function lookUp(tree: Tree, lfns: readonly Lfn[]): Held[] {
  const found = tree.lookup(lfnsToBuffer(lfns))
  return Array.from(found, (v): Held => (v >= -1 ? { file: true, size: v } : { file: false, directory: v === -2 }))
}
