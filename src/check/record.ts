/**
 * The fourth step of a check: the run in the summary store, and what it
 * confirms over runs: missing twice in a row for a transfer; orphans and
 * empty directories in the last `OrphanConfirmRuns` runs, the first of them
 * `OrphanConfirmDays` days ago; a size mismatch the same twice in a row.
 */
import { config } from '../config'
import { type Lfn, sortLfns } from '../lfn'
import type { Finding } from '../summary/store'
import type { RunStats } from '../summary/types'
import { DAY, now } from '../time'
import { type Run, throwIfAborted, untilAborted } from './context'
import type { Copied, Findings } from './findings'
import type { Sides } from './sides'
import type { UnmergedResult } from './unmerged'

export interface Recorded {
  runId: number
  stats: RunStats
  /** Missing in this run and the one before. */
  confirmedMissing: Lfn[]
  /** Orphans and empty directories confirmed over runs (size mismatches seen twice the same). */
  deletable: { orphan: Lfn[]; empty: Lfn[] }
}

export async function record(
  run: Run,
  sides: Sides,
  found: Findings & Copied,
  unmerged: UnmergedResult | null,
  heldBack: string | null,
): Promise<Recorded> {
  const { site, store, log } = run
  const maxMissing = config.get<number>('MaxMissing')
  const maxOrphan = config.get<number>('MaxOrphan')
  const remote = sides.storage.tree
  const stats: RunStats = {
    site,
    time: now(),
    files: remote.fileCount,
    nodes: remote.nodeCount,
    empty: found.empty.length,
    missing: found.missing.length,
    missingSize: found.missingSize,
    orphan: found.orphan.length,
    orphanSize: found.orphanSize,
    nosource: found.noSource.length,
    unrecoverable: found.unrecoverable.length,
    unlisted: found.unlisted.length,
    unlistedBad: found.unlistedBad,
    duration: (Date.now() - run.t0) / 1000,
    // the threads the storage was really listed with (GFALThreads for gfal)
    threads: sides.storage.options?.threads ?? config.get<number>('NumThreads'),
    unmerged: unmerged?.files.length ?? 0,
    unmergedSize: unmerged?.size ?? 0,
    heldBack,
    warning: sides.warning,
  }
  throwIfAborted(run)
  const emptyFindings = found.empty.map((lfn): Finding => ({ lfn }))
  const runId = await store.recordRun(
    stats,
    run.started,
    {
      missing: found.missing,
      orphan: found.orphan,
      empty: emptyFindings,
      size_mismatch: found.sizeMismatch,
      ...(unmerged ? { unmerged: unmerged.files } : {}),
    },
    { maxMissing, maxOrphan },
    // a stop rolls the whole record back: heard after each kind of finding is written
    async (tx) => {
      if (run.options.duringReport) await untilAborted(run.options.duringReport(tx), run)
      throwIfAborted(run)
    },
  )
  log.info(`run ${runId} recorded`)

  const confirmRuns = config.get<number>('OrphanConfirmRuns')
  const confirmDays = config.get<number>('OrphanConfirmDays')
  const enough = { runs: confirmRuns, days: confirmDays, now: now() }
  const confirmed = (streaks: Map<Lfn, { runs: number; since: number }>, runs: number, days: number) => {
    const before = enough.now - days * DAY
    return (lfn: Lfn) => {
      const s = streaks.get(lfn)
      return s !== undefined && s.runs >= runs && s.since <= before
    }
  }
  const twice = { runs: 2, days: 0, now: enough.now }
  const missingStreaks = await store.streaks(site, 'missing', runId, found.missing, twice)
  const confirmedMissing = found.missing.map((f) => f.lfn).filter(confirmed(missingStreaks, 2, 0))
  const orphanStreaks = await store.streaks(site, 'orphan', runId, found.orphan, enough)
  const orphanConfirmed = confirmed(orphanStreaks, confirmRuns, confirmDays)
  const mismatchConfirmed = confirmed(
    await store.streaks(site, 'size_mismatch', runId, found.sizeMismatch, twice),
    2,
    0,
  )
  const deletableOrphans = sortLfns(
    [
      ...found.plainOrphans.filter((f) => orphanConfirmed(f.lfn)),
      ...found.sizeMismatch.filter((f) => mismatchConfirmed(f.lfn) && orphanConfirmed(f.lfn)),
    ].map((f) => f.lfn),
  )
  const emptyConfirmed = confirmed(
    await store.streaks(site, 'empty', runId, emptyFindings, enough),
    confirmRuns,
    confirmDays,
  )
  const deletableEmpty = found.empty.filter(emptyConfirmed)
  const waiting = found.orphan.length - deletableOrphans.length + found.empty.length - deletableEmpty.length
  if (waiting) log.info(`${waiting} orphans and empty directories wait for confirmation in later runs`)
  return { runId, stats, confirmedMissing, deletable: { orphan: deletableOrphans, empty: deletableEmpty } }
}
