/**
 * The full check of one site (the original's `dynamo-consistency` run):
 * pick and lock a site, list its inventory, list its storage, list the
 * inventory again, compare, filter, report, and act where the site is
 * trusted.
 *
 * - A file is missing only when both inventory listings hold it, an orphan
 *   only when neither does: files that arrive or leave while the storage is
 *   listed are neither.
 * - Nothing is written to the registry when missing files exceed
 *   `MaxMissing` or orphans exceed `MaxOrphan` (the run's `heldBack` says
 *   why), nor for sites whose reporting flag is `dry`.
 * - Transfers are requested only for files missing in two runs in a row
 *   that have a disk copy elsewhere; the others are "no source" (no disk
 *   copy) or "unrecoverable" (no tape copy either).
 * - A site set to `halt` or `disable` while it runs stops within seconds.
 */
import { randomUUID } from 'node:crypto'
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import { openBackend, sitePattern } from '../backends'
import type { Sql } from '../backends/sql'
import type { Backend, MissingBlock, TransferRequest } from '../backends/types'
import { config } from '../config'
import { proxyWarning } from '../credentials'
import type { DirectoryInfo } from '../datatypes'
import { AuthError, CancelledError } from '../errors'
import { DatasetFilter, datasetDirectoryOf, type Filter, Filters, FullFilter, PatternFilter } from '../filters'
import { type Lfn, lfnFromText, sortLfns } from '../lfn'
import { compareAsync, nativeTask } from '../native'
import { siteCredentials, siteTarget } from '../remotelister'
import { type Finding, openSummary, type SummaryStore } from '../summary/store'
import type { Reporting, RunStats } from '../summary/types'
import { plural } from '../words'
import { filesOf, type Held, keepListed, lfnsOf, lookUp, writeList } from './lists'
import { RunLog } from './log'
import { listSite, rootsFor } from './remote'
import { findUnmerged, type UnmergedResult } from './unmerged'

const DAY = 86_400

export interface CheckOptions {
  /** A site name or a pattern (a regular expression matching whole names). */
  site: string
  /** The configuration file; the one already set (or the defaults) when omitted. */
  configPath?: string
  /** Stops the run (as SIGINT does): the site goes back to ready. */
  signal?: AbortSignal
  /** The back end; by default the one the configuration names. */
  backend?: Backend
  /** The summary store; by default the one the configuration names. */
  store?: SummaryStore
  /** Each log line, as it is written. */
  onLog?: (line: string) => void
  /** Seconds between looks at the site's status for a halt. @default 1 */
  haltPollSeconds?: number
  /** The worker's host name in the summary store. @default $DYNAMO_CONSISTENCY_HOST, else the machine's name */
  host?: string
  /** Also clean the site's `AdditionalLogDeletions` (the original's `--more-logs`). */
  moreLogs?: boolean
  /** Request no deletion of orphans this run (the original's `--no-orphan`). */
  noOrphan?: boolean
  /** Request nothing of the registry this run, whatever the site's flag (`check --test`). */
  dry?: boolean
  /** Called between the storage listing and the second inventory listing (for embedding and tests). */
  afterRemoteListing?: (site: string) => Promise<void> | void
  /** Called inside the report transaction after each kind of finding is written (for fault tests). */
  duringReport?: (tx: Sql) => Promise<void>
}

/** The lists a run writes to `WebDir` (`SITE_compare_*.txt`). */
export type CheckList =
  | 'missing'
  | 'orphan'
  | 'empty'
  | 'unlisted'
  | 'sizeMismatch'
  | 'nosource'
  | 'unrecoverable'
  | 'datasets'
  | 'unmerged'

/** What one run found and did. */
export interface CheckReport {
  site: string
  reporting: Reporting
  stats: RunStats
  runId: number
  /** The log file of the run. */
  log: string
  /** The lists written to `WebDir`. */
  outputs: Record<CheckList, string>
  /** Every name as bytes (`Lfn`): `lfnForDisplay` shows one to people. */
  missing: Lfn[]
  orphan: Lfn[]
  empty: Lfn[]
  /** Orphans whose path an inventory listing holds with another size: `size` on storage, `inventorySize` there. */
  sizeMismatch: Finding[]
  /** Missing in this run and the one before. */
  confirmedMissing: Lfn[]
  /** What may be deleted: orphans and empty directories confirmed over runs (`OrphanConfirmRuns`, `OrphanConfirmDays`), size mismatches seen twice the same. */
  deletable: { orphan: Lfn[]; empty: Lfn[] }
  noSource: Lfn[]
  unrecoverable: Lfn[]
  missingBlocks: MissingBlock[]
  /** Deletable files below /store/unmerged (sites in `Unmerged` only). */
  unmerged: Lfn[]
  /** Registry requests made (0 for dry sites and held-back runs). */
  requested: { deletions: number; transfers: number }
  /** Every top directory of the storage listing was unlisted: nothing on storage was seen (a dead door, refused credentials). */
  storageUnlisted: boolean
}

/** How a run ended without a report. */
export class HaltedError extends CancelledError {
  constructor(
    readonly site: string,
    readonly reason: string,
  ) {
    super('E_HALTED', `the check of ${site} stopped: ${reason}`)
  }
}

const now = () => Math.floor(Date.now() / 1000)

/**
 * Watches the site while it runs: aborts the run when the site is halted
 * or disabled, and renews the worker's lease on it (a third of
 * `LeaseSeconds` at most after the last renewal), aborting the run when the
 * lease was lost (another worker took the site after it expired).
 */
function watchSite(
  store: SummaryStore,
  site: string,
  lease: { owner: string; seconds: number },
  pollSeconds: number,
  controller: AbortController,
): () => void {
  let busy = false
  let renewed = Date.now()
  const timer = setInterval(
    () => {
      if (busy) return
      busy = true
      const renew = Date.now() - renewed >= (lease.seconds * 1000) / 3
      Promise.all([store.status(site), renew ? store.renewLease(site, lease.owner, lease.seconds) : true])
        .then(([s, held]) => {
          if (s && (s.status === 'halt' || s.status === 'disabled'))
            controller.abort(new Error(`site set to ${s.status}`))
          else if (!held) controller.abort(new Error('the lease on the site was lost to another worker'))
          else if (renew) renewed = Date.now()
        })
        .catch(() => undefined)
        .finally(() => {
          busy = false
        })
    },
    Math.min(pollSeconds, lease.seconds / 4) * 1000,
  )
  timer.unref()
  return () => clearInterval(timer)
}

function throwIfAborted(signal: AbortSignal, site: string): void {
  if (signal.aborted) throw new HaltedError(site, String((signal.reason as Error)?.message ?? signal.reason))
}

/** `work`, or a HaltedError as soon as `signal` aborts (`work` is left to end by itself). */
async function untilAborted<T>(work: Promise<T>, signal: AbortSignal, site: string): Promise<T> {
  throwIfAborted(signal, site)
  let onAbort = () => {}
  const aborted = new Promise<never>((_, reject) => {
    onAbort = () => reject(new HaltedError(site, String((signal.reason as Error)?.message ?? signal.reason)))
    signal.addEventListener('abort', onAbort, { once: true })
  })
  try {
    return await Promise.race([work, aborted])
  } finally {
    signal.removeEventListener('abort', onAbort)
  }
}

/**
 * Run the check on the ready site matching `options.site` that ran longest
 * ago. Returns null when no site is ready.
 */
export async function runCheck(options: CheckOptions): Promise<CheckReport | null> {
  if (options.configPath !== undefined) config.setLocation(options.configPath)
  const store = options.store ?? (await openSummary())
  const backend = options.backend ?? openBackend()
  try {
    await store.addSites(await backend.siteinfo.siteList())
    const host = options.host ?? (process.env.DYNAMO_CONSISTENCY_HOST || os.hostname())
    const lease = { owner: `${host}:${process.pid}:${randomUUID()}`, seconds: config.get<number>('LeaseSeconds') }
    const picked = await store.pick(sitePattern(options.site), (s) => backend.checkSite(s), {
      host,
      pid: process.pid,
      owner: lease.owner,
      leaseSeconds: lease.seconds,
    })
    if (!picked) return null
    const controller = new AbortController()
    const onOuterAbort = () => controller.abort(options.signal?.reason ?? new Error('interrupted'))
    if (options.signal?.aborted) onOuterAbort()
    options.signal?.addEventListener('abort', onOuterAbort, { once: true })
    const stopWatching = watchSite(store, picked.site, lease, options.haltPollSeconds ?? 1, controller)
    const log = new RunLog(path.join(config.resolvePath('VarLocation'), 'logs', picked.site), options.onLog)
    let failed = false
    try {
      await store.markRunning(picked.site, lease.owner)
      return await checkSite(
        picked.site,
        picked.reporting,
        picked.started,
        backend,
        store,
        log,
        controller.signal,
        options,
        lease,
      )
    } catch (err) {
      failed = true
      log.info(`stopped: ${err instanceof Error ? err.message : String(err)}`)
      // refused credentials: a failed run, on the page and in /metrics, never a run that found nothing
      if (err instanceof AuthError && !controller.signal.aborted) {
        const limits = { maxMissing: config.get<number>('MaxMissing'), maxOrphan: config.get<number>('MaxOrphan') }
        const runId = await store.recordFailedRun(picked.site, picked.started, err.message, limits).catch(() => null)
        if (runId !== null) log.info(`run ${runId} recorded as failed`)
      }
      if (controller.signal.aborted && !(err instanceof HaltedError)) {
        throw new HaltedError(picked.site, String((controller.signal.reason as Error)?.message ?? 'aborted'))
      }
      throw err
    } finally {
      stopWatching()
      options.signal?.removeEventListener('abort', onOuterAbort)
      log.close()
      // a store that went away must not hide the error that stopped the run
      await store.release(picked.site, lease.owner).catch((err) => {
        if (!failed) throw err
      })
    }
  } finally {
    if (!options.backend) await backend.close().catch(() => undefined)
    if (!options.store) await store.close().catch(() => undefined)
  }
}

async function checkSite(
  site: string,
  reporting: Reporting,
  started: number,
  backend: Backend,
  store: SummaryStore,
  log: RunLog,
  signal: AbortSignal,
  options: CheckOptions,
  lease: { owner: string; seconds: number },
): Promise<CheckReport> {
  const t0 = Date.now()
  const ignoreAge = config.get<number>('IgnoreAge')
  const maxMissing = config.get<number>('MaxMissing')
  const maxOrphan = config.get<number>('MaxOrphan')
  const confirmRuns = config.get<number>('OrphanConfirmRuns')
  const confirmDays = config.get<number>('OrphanConfirmDays')
  log.info(`check of ${site} (${reporting}) with the ${backend.name} back end`)

  const inventory = await backend.inventory.listFiles(site, { signal })
  log.info(`inventory: ${plural(inventory.fileCount, 'file')}`)
  throwIfAborted(signal, site)

  // a proxy that will not outlast the listing: said before it starts, and kept with the run
  const warning = await credentialWarning(site, store)
  if (warning) log.info(`warning: ${warning}`)

  const roots = rootsFor(inventory)
  log.info(`listing ${roots.length ? roots.join(', ') : 'nothing (the inventory has none of the top directories)'}`)
  const remote = await listSite(site, roots, { signal, log: (line) => log.info(line) })
  const remoteCounts = remote.counts(ignoreAge)
  log.info(
    `storage: ${plural(remote.fileCount, 'file')} in ${plural(remote.nodeCount, 'directory')}, ${remoteCounts.unlisted} unlisted`,
  )
  throwIfAborted(signal, site)
  await options.afterRemoteListing?.(site)

  // the first comparison runs before the inventory is listed again, and
  // what the later steps ask of the first listing is looked up now, so that
  // the check never holds more than two trees (storage and one inventory)
  const age = ignoreAge * DAY
  const compareOptions = { ignoreAge: age }
  // a compare of millions of files takes well under a second: a stop is heard before and after it
  const compare = (inv: DirectoryInfo) =>
    nativeTask('the comparison', signal, (s) => compareAsync(inv.tree, remote.tree, compareOptions, s))
  const first = await compare(inventory)
  throwIfAborted(signal, site)
  const candidates = lfnsOf(first, 'orphan')
  const emptyCandidates = lfnsOf(first, 'empty')
  const asked = { orphans: candidates, datasetDirs: datasetDirsOf(candidates), empties: emptyCandidates }
  const firstVerdicts = inventory.tree.verdictHash(age)
  const lookups = [lookUpAll(inventory, asked)]
  inventory.tree.clear()

  const inventoryAgain: DirectoryInfo | null = await backend.inventory.listFiles(site, { signal })
  throwIfAborted(signal, site)
  // the same verdicts: the same files, sizes, and files old enough to compare
  const same = inventoryAgain.tree.verdictHash(age) === firstVerdicts
  log.info(`inventory again: ${plural(inventoryAgain.fileCount, 'file')}${same ? ' (unchanged)' : ''}`)
  const second = same ? null : await compare(inventoryAgain)
  throwIfAborted(signal, site)
  lookups.push(lookUpAll(inventoryAgain, asked))

  // the vetoes, as the original's: missing files of datasets being deleted
  // (or whose LFN names no dataset) are not missing; orphans of protected
  // datasets (IGNORED, subscribed here, or with a replica or files at the
  // site), of datasets being deleted, below an IgnoreDirectories pattern,
  // being transferred here, or whose LFN names no dataset are no orphans.
  // A storage file whose path an inventory listing holds is no dark data but
  // a size mismatch: every veto but the dataset having a replica at the
  // site applies to it (IGNORED, subscribed or operator-protected datasets
  // keep even a wrong-size copy)
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
    candidates,
    lookups.map((h) => h.orphans),
  )
  const mismatchVeto = new Filters(ignored, beingDeleted, incoming, alwaysProtected)
  const missing = keepListed(first, 'missing', second, beingDeleted)
  const orphan = keepListed(first, 'orphan', second, {
    protected: (lfn) => (inventorySizes.has(lfn) ? mismatchVeto : orphanVeto).protected(lfn),
  })
  // a directory either inventory listing has (or names as a file) holds missing files: never removed
  const empty = keepListed(
    first,
    'empty',
    null,
    new Filters(
      ignored,
      new FullFilter(
        heldByEither(
          emptyCandidates,
          lookups.map((h) => h.empties),
          () => true,
        ),
      ),
    ),
  )
  const unlisted = first.unlisted()
  const unlistedPaths = new Set(unlisted.map((u) => u.path))
  const storageUnlisted = roots.length > 0 && roots.every((r) => unlistedPaths.has(r))
  if (storageUnlisted) log.info('nothing on storage could be listed: every top directory is unlisted')
  const unlistedBad = unlisted.filter((u) => !/time(d)? ?out/i.test(u.reason)).length

  // an orphan whose path either inventory listing holds is a size mismatch:
  // its storage copy is deleted only once the same mismatch is seen twice
  const storageSizes = first.sizes('orphan')
  const orphanFindings = orphan.map((lfn, i) => sized(lfn, storageSizes[i] as number))
  const sizeMismatch: Finding[] = []
  const plainOrphans: Finding[] = []
  for (const f of orphanFindings) {
    const held = inventorySizes.get(f.lfn)
    if (held === undefined) plainOrphans.push(f)
    else sizeMismatch.push({ ...f, inventorySize: held })
  }
  log.info(
    `missing ${missing.length} (${first.missingSize} bytes), orphan ${orphan.length} (${first.orphanSize} bytes), ${sizeMismatch.length} of them size mismatches`,
  )
  log.info(`empty directories ${empty.length}, unlisted ${unlisted.length}`)

  // /store/unmerged, at the sites that have it cleaned
  let unmerged: UnmergedResult | null = null
  if (config.get<string[]>('Unmerged').includes(site)) {
    unmerged = await findUnmerged(site, signal, { moreLogs: options.moreLogs === true })
    if (unmerged.refused) log.info(`unmerged: ${unmerged.refused}`)
    else log.info(`unmerged: ${unmerged.files.length} of ${unmerged.listed} files deletable (${unmerged.size} bytes)`)
    throwIfAborted(signal, site)
  }

  // where else the missing files are: complete, owned replicas at ready sites
  const copies = await backend.inventory.copiesElsewhere(site, missing, query)
  const noSource = missing.filter((l) => (copies.get(l)?.disk.length ?? 0) === 0)
  const unrecoverable = noSource.filter((l) => (copies.get(l)?.tape.length ?? 0) === 0)
  const missingBlocks = await backend.inventory.filelistToBlocklist(site, missing, query)
  throwIfAborted(signal, site)

  // the lists in WebDir
  const web = config.resolvePath('WebDir')
  fs.mkdirSync(web, { recursive: true })
  const base = path.join(web, `${site}_compare`)
  const outputs: Record<CheckList, string> = {
    missing: `${base}_missing.txt`,
    orphan: `${base}_orphan.txt`,
    empty: `${base}_empty.txt`,
    unlisted: `${base}_unlisted.txt`,
    sizeMismatch: `${base}_size_mismatch.txt`,
    nosource: `${base}_missing_nosite.txt`,
    unrecoverable: `${base}_unrecoverable.txt`,
    datasets: `${base}_missing_datasets.txt`,
    unmerged: `${base}_unmerged.txt`,
  }
  for (const kind of ['missing', 'orphan', 'empty', 'unlisted'] as const) {
    first.write(kind, outputs[kind])
  }
  writeList(
    outputs.sizeMismatch,
    sizeMismatch.map((f) => f.lfn),
    sizeMismatch.map((f) => `|${f.size}|${f.inventorySize}`),
  )
  writeList(outputs.nosource, noSource)
  writeList(outputs.unrecoverable, unrecoverable)
  if (unmerged)
    writeList(
      outputs.unmerged,
      unmerged.files.map((f) => f.lfn),
    )
  writeList(
    outputs.datasets,
    missingBlocks.map((b) => lfnFromText(`${b.count} ${b.group || '-'} ${b.block}`)),
  )

  // the gates
  const held: string[] = []
  if (missing.length > maxMissing)
    held.push(`${plural(missing.length, 'missing file')} exceed MaxMissing ${maxMissing}`)
  if (orphan.length > maxOrphan) held.push(`${plural(orphan.length, 'orphan')} exceed MaxOrphan ${maxOrphan}`)
  const heldBack = held.length ? held.join('; ') : null
  if (heldBack) log.info(`held back: ${heldBack}`)

  const missingSizes = filesOf(first, 'missing')
  const stats: RunStats = {
    site,
    time: now(),
    files: remote.fileCount,
    nodes: remote.nodeCount,
    empty: empty.length,
    missing: missing.length,
    missingSize: first.missingSize,
    orphan: orphan.length,
    orphanSize: first.orphanSize,
    nosource: noSource.length,
    unrecoverable: unrecoverable.length,
    unlisted: unlisted.length,
    unlistedBad,
    duration: (Date.now() - t0) / 1000,
    threads: config.get<number>('NumThreads'),
    unmerged: unmerged?.files.length ?? 0,
    unmergedSize: unmerged?.size ?? 0,
    heldBack,
    warning,
  }
  throwIfAborted(signal, site)
  const missingFindings = missingSizes.map((f) => sized(f.lfn, f.size))
  const emptyFindings = empty.map((lfn): Finding => ({ lfn }))
  const runId = await store.recordRun(
    stats,
    started,
    {
      missing: missingFindings,
      orphan: orphanFindings,
      empty: emptyFindings,
      size_mismatch: sizeMismatch,
      ...(unmerged ? { unmerged: unmerged.files } : {}),
    },
    { maxMissing, maxOrphan },
    // a stop rolls the whole record back: heard after each kind of finding is written
    async (tx) => {
      if (options.duringReport) await untilAborted(options.duringReport(tx), signal, site)
      throwIfAborted(signal, site)
    },
  )
  log.info(`run ${runId} recorded`)

  // confirmation over runs: missing twice in a row for a transfer; orphans
  // and empty directories in the last OrphanConfirmRuns runs, the first of
  // them OrphanConfirmDays days ago; a size mismatch the same twice in a row
  const enough = { runs: confirmRuns, days: confirmDays, now: now() }
  const confirmed = (streaks: Map<Lfn, { runs: number; since: number }>, runs: number, days: number) => {
    const before = enough.now - days * DAY
    return (lfn: Lfn) => {
      const s = streaks.get(lfn)
      return s !== undefined && s.runs >= runs && s.since <= before
    }
  }
  const missingStreaks = await store.streaks(site, 'missing', runId, missingFindings, {
    runs: 2,
    days: 0,
    now: enough.now,
  })
  const confirmedMissing = missing.filter(confirmed(missingStreaks, 2, 0))
  const orphanStreaks = await store.streaks(site, 'orphan', runId, orphanFindings, enough)
  const orphanConfirmed = confirmed(orphanStreaks, confirmRuns, confirmDays)
  const mismatchConfirmed = confirmed(
    await store.streaks(site, 'size_mismatch', runId, sizeMismatch, { runs: 2, days: 0, now: enough.now }),
    2,
    0,
  )
  const deletableOrphans = sortLfns(
    [
      ...plainOrphans.filter((f) => orphanConfirmed(f.lfn)),
      ...sizeMismatch.filter((f) => mismatchConfirmed(f.lfn) && orphanConfirmed(f.lfn)),
    ].map((f) => f.lfn),
  )
  const emptyConfirmed = confirmed(
    await store.streaks(site, 'empty', runId, emptyFindings, enough),
    confirmRuns,
    confirmDays,
  )
  const deletableEmpty = empty.filter(emptyConfirmed)
  const waiting = orphan.length - deletableOrphans.length + empty.length - deletableEmpty.length
  if (waiting) log.info(`${waiting} orphans and empty directories wait for confirmation in later runs`)

  // acting: only at act sites, only below the gates. A stop is heard
  // before each batch of requests, never between a batch and its marks: a
  // batch not marked acted is asked for again by the next run
  const requested = { deletions: 0, transfers: 0 }
  throwIfAborted(signal, site)
  // the site as it is now, not as it was picked: still this worker's, still act
  const reportingNow = reporting === 'act' ? await store.confirmLease(site, lease.owner, lease.seconds) : reporting
  if (reportingNow === null) throw new HaltedError(site, 'the lease on the site was lost to another worker')
  if (reportingNow !== 'act') log.info('dry site: no registry requests')
  else if (options.dry) log.info('dry run (--test): no registry requests')
  else if (heldBack) log.info('no registry requests: held back')
  else {
    if (options.noOrphan) log.info('--no-orphan: no deletion of orphans requested')
    if (config.get<boolean>('DeleteOrphans') && !options.noOrphan && deletableOrphans.length) {
      requested.deletions += await backend.registry.delete(site, deletableOrphans)
      await store.markActed(site, runId, 'orphan', deletableOrphans)
    }
    if (deletableEmpty.length) {
      throwIfAborted(signal, site)
      requested.deletions += await backend.registry.delete(site, deletableEmpty)
      await store.markActed(site, runId, 'empty', deletableEmpty)
    }
    if (unmerged?.files.length) {
      throwIfAborted(signal, site)
      const lfns = unmerged.files.map((f) => f.lfn)
      requested.deletions += await backend.registry.delete(site, lfns)
      await store.markActed(site, runId, 'unmerged', lfns)
    }
    // one request per source, as the original's registry: disk copies, else tape
    const transfers = confirmedMissing.flatMap((lfn) => {
      const c = copies.get(lfn)
      const sources = c?.disk.length ? c.disk : (c?.tape ?? [])
      return sources.map((source): TransferRequest => ({ lfn, source }))
    })
    if (config.get<boolean>('UseTransferQueue') && transfers.length) {
      throwIfAborted(signal, site)
      requested.transfers += await backend.registry.transfer(site, transfers)
      await store.markActed(site, runId, 'missing', [...new Set(transfers.map((t) => t.lfn))])
    }
    log.info(`requested ${requested.deletions} deletions and ${requested.transfers} transfers`)
  }
  log.info(`done in ${((Date.now() - t0) / 1000).toFixed(1)} s`)
  return {
    site,
    reporting,
    stats,
    runId,
    log: log.file,
    outputs,
    missing,
    orphan,
    empty,
    sizeMismatch,
    confirmedMissing,
    deletable: { orphan: deletableOrphans, empty: deletableEmpty },
    noSource,
    unrecoverable,
    missingBlocks,
    unmerged: unmerged?.files.map((f) => f.lfn) ?? [],
    requested,
    storageUnlisted,
  }
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

/** A finding of a file; a size the listing did not give (-1) is no size, and matches any in later runs. */
function sized(lfn: Lfn, size: number): Finding {
  return size >= 0 ? { lfn, size } : { lfn }
}

/** The dataset directories the orphans lie below (see `datasetDirectoryOf`). */
function datasetDirsOf(orphans: readonly Lfn[]): Lfn[] {
  return [...new Set(orphans.map((l) => datasetDirectoryOf(l)).filter((d): d is Lfn => d !== null))]
}

/** What an inventory listing holds at each path the later steps ask about. */
function lookUpAll(
  inventory: DirectoryInfo,
  asked: { orphans: readonly Lfn[]; datasetDirs: readonly Lfn[]; empties: readonly Lfn[] },
): { orphans: Held[]; datasetDirs: Held[]; empties: Held[] } {
  const at = (lfns: readonly Lfn[]) => (lfns.length ? lookUp(inventory.tree, lfns) : [])
  return { orphans: at(asked.orphans), datasetDirs: at(asked.datasetDirs), empties: at(asked.empties) }
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
