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
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import { openBackend, sitePattern } from '../backends'
import type { Sql } from '../backends/sql'
import type { Backend, MissingBlock } from '../backends/types'
import { config } from '../config'
import type { DirectoryInfo } from '../datatypes'
import { CancelledError, native, nativeAsync } from '../errors'
import { DatasetFilter, datasetOf, Filters, FullFilter, PatternFilter } from '../filters'
import type { Lfn } from '../lfn'
import { compareAsync } from '../native'
import { type Finding, openSummary, type SummaryStore } from '../summary/store'
import type { Reporting, RunStats } from '../summary/types'
import { keepListed } from './lists'
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
  /** Called between the storage listing and the second inventory listing (for embedding and tests). */
  afterRemoteListing?: (site: string) => Promise<void> | void
  /** Called inside the report transaction after each kind of finding is written (for fault tests). */
  duringReport?: (tx: Sql) => Promise<void>
}

/** What one run found and did. */
export interface CheckReport {
  site: string
  reporting: Reporting
  stats: RunStats
  runId: number
  /** The log file of the run. */
  log: string
  /** The lists written to `WebDir`. */
  outputs: Record<string, string>
  missing: string[]
  orphan: string[]
  empty: string[]
  /** Missing in this run and the one before. */
  confirmedMissing: string[]
  noSource: string[]
  unrecoverable: string[]
  missingBlocks: MissingBlock[]
  /** Deletable files below /store/unmerged (sites in `Unmerged` only). */
  unmerged: string[]
  /** Registry requests made (0 for dry sites and held-back runs). */
  requested: { deletions: number; transfers: number }
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

/** Watches the site's status and aborts the run when it is halted or disabled. */
function watchHalt(store: SummaryStore, site: string, seconds: number, controller: AbortController): () => void {
  let busy = false
  const timer = setInterval(() => {
    if (busy) return
    busy = true
    store
      .status(site)
      .then((s) => {
        if (s && (s.status === 'halt' || s.status === 'disabled'))
          controller.abort(new Error(`site set to ${s.status}`))
      })
      .catch(() => undefined)
      .finally(() => {
        busy = false
      })
  }, seconds * 1000)
  timer.unref()
  return () => clearInterval(timer)
}

function writeLines(file: string, lines: readonly string[]): void {
  fs.writeFileSync(file, lines.length ? `${lines.join('\n')}\n` : '')
}

function throwIfAborted(signal: AbortSignal, site: string): void {
  if (signal.aborted) throw new HaltedError(site, String((signal.reason as Error)?.message ?? signal.reason))
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
    const picked = await store.pick(sitePattern(options.site), (s) => backend.checkSite(s), {
      host: os.hostname(),
      pid: process.pid,
    })
    if (!picked) return null
    const controller = new AbortController()
    const onOuterAbort = () => controller.abort(options.signal?.reason ?? new Error('interrupted'))
    if (options.signal?.aborted) onOuterAbort()
    options.signal?.addEventListener('abort', onOuterAbort, { once: true })
    const stopWatching = watchHalt(store, picked.site, options.haltPollSeconds ?? 1, controller)
    const log = new RunLog(path.join(config.resolvePath('VarLocation'), 'logs', picked.site), options.onLog)
    let failed = false
    try {
      await store.markRunning(picked.site)
      return await checkSite(
        picked.site,
        picked.reporting,
        picked.started,
        backend,
        store,
        log,
        controller.signal,
        options,
      )
    } catch (err) {
      failed = true
      log.info(`stopped: ${err instanceof Error ? err.message : String(err)}`)
      if (controller.signal.aborted && !(err instanceof HaltedError)) {
        throw new HaltedError(picked.site, String((controller.signal.reason as Error)?.message ?? 'aborted'))
      }
      throw err
    } finally {
      stopWatching()
      options.signal?.removeEventListener('abort', onOuterAbort)
      log.close()
      // a store that went away must not hide the error that stopped the run
      await store.release(picked.site).catch((err) => {
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
): Promise<CheckReport> {
  const t0 = Date.now()
  const ignoreAge = config.get<number>('IgnoreAge')
  const maxMissing = config.get<number>('MaxMissing')
  const maxOrphan = config.get<number>('MaxOrphan')
  log.info(`check of ${site} (${reporting}) with the ${backend.name} back end`)

  const inventory = await backend.inventory.listFiles(site, { signal })
  log.info(`inventory: ${inventory.fileCount} files`)
  throwIfAborted(signal, site)

  const roots = rootsFor(inventory)
  log.info(`listing ${roots.length ? roots.join(', ') : 'nothing (the inventory has none of the top directories)'}`)
  const remote = await listSite(site, roots, { signal, log: (line) => log.info(line) })
  const remoteCounts = remote.counts(ignoreAge)
  log.info(`storage: ${remote.fileCount} files in ${remote.nodeCount} directories, ${remoteCounts.unlisted} unlisted`)
  throwIfAborted(signal, site)
  await options.afterRemoteListing?.(site)

  const inventoryAgain: DirectoryInfo | null = await backend.inventory.listFiles(site, { signal })
  throwIfAborted(signal, site)
  const same = inventoryAgain.hash === inventory.hash
  log.info(`inventory again: ${inventoryAgain.fileCount} files${same ? ' (unchanged)' : ''}`)

  const compareOptions = { ignoreAge: ignoreAge * DAY }
  const first = await nativeAsync(compareAsync(inventory.tree, remote.tree, compareOptions))
  const second = same ? null : await nativeAsync(compareAsync(inventoryAgain.tree, remote.tree, compareOptions))
  throwIfAborted(signal, site)

  // the vetoes
  const deletions = await backend.inventory.deletionRequests(site)
  const deletionDatasets = deletions.map(datasetOf).filter((d): d is string => d !== null)
  const protectedDatasets = await backend.inventory.protectedDatasets(site)
  const incoming = await backend.inventory.incomingFiles(site)
  const ignored = new PatternFilter(config.get<string[]>('IgnoreDirectories'))
  const missingVeto = new Filters(new FullFilter(deletions))
  const orphanVeto = new Filters(
    ignored,
    new DatasetFilter([...protectedDatasets, ...deletionDatasets]),
    new FullFilter([...incoming, ...deletions]),
  )
  const missing = keepListed(first, 'missing', second, missingVeto)
  const orphan = keepListed(first, 'orphan', second, orphanVeto)
  const empty = native(() => first.empty()).filter((d) => !ignored.protected(d))
  const unlisted = native(() => first.unlisted())
  const unlistedBad = unlisted.filter((u) => !/time(d)? ?out/i.test(u.reason)).length
  log.info(
    `missing ${missing.length} (${first.missingSize} bytes), orphan ${orphan.length} (${first.orphanSize} bytes)`,
  )
  log.info(`empty directories ${empty.length}, unlisted ${unlisted.length}`)

  // /store/unmerged, at the sites that have it cleaned
  let unmerged: UnmergedResult | null = null
  if (config.get<string[]>('Unmerged').includes(site)) {
    unmerged = await findUnmerged(site, signal)
    log.info(`unmerged: ${unmerged.files.length} of ${unmerged.listed} files deletable (${unmerged.size} bytes)`)
    throwIfAborted(signal, site)
  }

  // where else the missing files are
  const copies = await backend.inventory.copiesElsewhere(site, missing)
  const noSource = missing.filter((l) => (copies.get(l)?.disk.length ?? 0) === 0)
  const unrecoverable = noSource.filter((l) => (copies.get(l)?.tape.length ?? 0) === 0)
  const missingBlocks = await backend.inventory.filelistToBlocklist(site, missing)

  // the lists in WebDir
  const web = config.resolvePath('WebDir')
  fs.mkdirSync(web, { recursive: true })
  const base = path.join(web, `${site}_compare`)
  const outputs = {
    missing: `${base}_missing.txt`,
    orphan: `${base}_orphan.txt`,
    empty: `${base}_empty.txt`,
    unlisted: `${base}_unlisted.txt`,
    nosource: `${base}_missing_nosite.txt`,
    unrecoverable: `${base}_unrecoverable.txt`,
    datasets: `${base}_missing_datasets.txt`,
    unmerged: `${base}_unmerged.txt`,
  }
  native(() => first.write('missing', outputs.missing))
  native(() => first.write('orphan', outputs.orphan))
  native(() => first.write('unlisted', outputs.unlisted))
  writeLines(outputs.empty, empty)
  writeLines(outputs.nosource, noSource)
  if (unmerged)
    writeLines(
      outputs.unmerged,
      unmerged.files.map((f) => f.lfn),
    )
  writeLines(outputs.unrecoverable, unrecoverable)
  writeLines(
    outputs.datasets,
    missingBlocks.map((b) => `${b.count} ${b.group || '-'} ${b.block}`),
  )

  // the gates
  const held: string[] = []
  if (missing.length > maxMissing) held.push(`${missing.length} missing files exceed MaxMissing ${maxMissing}`)
  if (orphan.length > maxOrphan) held.push(`${orphan.length} orphans exceed MaxOrphan ${maxOrphan}`)
  const heldBack = held.length ? held.join('; ') : null
  if (heldBack) log.info(`held back: ${heldBack}`)

  // the two-run confirmation: missing now and in the last recorded run
  const before = new Set<string>(
    (await store.findings(site, 'missing')).filter((f) => f.acted === null).map((f) => f.lfn),
  )
  const confirmedMissing = missing.filter((l) => before.has(l))

  const missingSizes = new Map(first.files('missing').map((f) => [f.lfn, f.size]))
  const orphanSizes = new Map(first.files('orphan').map((f) => [f.lfn, f.size]))
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
  }
  throwIfAborted(signal, site)
  const runId = await store.recordRun(
    stats,
    started,
    {
      missing: missing.map((lfn) => ({ lfn: lfn as Lfn, size: missingSizes.get(lfn) ?? -1 })),
      orphan: orphan.map((lfn) => ({ lfn: lfn as Lfn, size: orphanSizes.get(lfn) ?? -1 })),
      empty: empty.map((lfn) => ({ lfn: lfn as Lfn })),
      ...(unmerged ? { unmerged: unmerged.files as Finding[] } : {}),
    },
    { maxMissing, maxOrphan },
    options.duringReport,
  )
  log.info(`run ${runId} recorded`)

  // acting: only at act sites, only below the gates
  const requested = { deletions: 0, transfers: 0 }
  if (reporting !== 'act') log.info('dry site: no registry requests')
  else if (heldBack) log.info('no registry requests: held back')
  else {
    if (config.get<boolean>('DeleteOrphans') && orphan.length) {
      requested.deletions += await backend.registry.delete(site, orphan)
      await store.markActed(site, runId, 'orphan', orphan as Lfn[])
    }
    if (empty.length) {
      requested.deletions += await backend.registry.delete(site, empty)
      await store.markActed(site, runId, 'empty', empty as Lfn[])
    }
    if (unmerged?.files.length) {
      const lfns = unmerged.files.map((f) => f.lfn)
      requested.deletions += await backend.registry.delete(site, lfns)
      await store.markActed(site, runId, 'unmerged', lfns as Lfn[])
    }
    const transfers = confirmedMissing.flatMap((lfn) => {
      const source = copies.get(lfn)?.disk[0]
      return source ? [{ lfn, source }] : []
    })
    if (config.get<boolean>('UseTransferQueue') && transfers.length) {
      requested.transfers += await backend.registry.transfer(site, transfers)
      await store.markActed(
        site,
        runId,
        'missing',
        transfers.map((t) => t.lfn as Lfn),
      )
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
    confirmedMissing,
    noSource,
    unrecoverable,
    missingBlocks,
    unmerged: unmerged?.files.map((f) => f.lfn) ?? [],
    requested,
  }
}
