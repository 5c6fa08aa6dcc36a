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
 *
 * A run is a sequence of steps, each a module here: list both sides
 * (`sides`), what they show (`findings`, and `unmerged` at the sites that
 * clean it), the lists in `WebDir` (`lists`), the run in the summary store
 * (`record`), and the registry requests (`act`).
 */
import { randomUUID } from 'node:crypto'
import * as os from 'node:os'
import * as path from 'node:path'
import { openBackend, sitePattern } from '../backends'
import { config } from '../config'
import { AuthError } from '../errors'
import type { Lfn } from '../lfn'
import { openSummary, type SummaryStore } from '../summary/store'
import { act, gate } from './act'
import { HaltedError, type Run } from './context'
import { copiesElsewhere, findings } from './findings'
import { writeLists } from './lists'
import { RunLog } from './log'
import { record } from './record'
import { listSides } from './sides'
import type { CheckOptions, CheckReport } from './types'
import { unmergedOf } from './unmerged'

export { HaltedError } from './context'
export type { CheckList, CheckOptions, CheckReport } from './types'

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
      return await checkSite({
        site: picked.site,
        reporting: picked.reporting,
        started: picked.started,
        t0: Date.now(),
        backend,
        store,
        log,
        signal: controller.signal,
        options,
        lease,
      })
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

/** The check of a picked site, step by step. */
async function checkSite(run: Run): Promise<CheckReport> {
  const { site, reporting, backend, log } = run
  log.info(`check of ${site} (${reporting}) with the ${backend.name} back end`)
  const sides = await listSides(run)
  const listed = await findings(run, sides)
  const unmerged = await unmergedOf(run)
  const found = { ...listed, ...(await copiesElsewhere(run, listed)) }
  const outputs = writeLists(site, sides.first, found, unmerged)
  const heldBack = gate(run, found)
  const recorded = await record(run, sides, found, unmerged, heldBack)
  const requested = await act(run, found, recorded, unmerged, heldBack)
  log.info(`done in ${((Date.now() - run.t0) / 1000).toFixed(1)} s`)
  const lfns = (fs: readonly { lfn: Lfn }[]) => fs.map((f) => f.lfn)
  return {
    site,
    reporting,
    stats: recorded.stats,
    runId: recorded.runId,
    log: log.file,
    outputs,
    missing: lfns(found.missing),
    orphan: lfns(found.orphan),
    empty: found.empty,
    sizeMismatch: found.sizeMismatch,
    confirmedMissing: recorded.confirmedMissing,
    deletable: recorded.deletable,
    noSource: found.noSource,
    unrecoverable: found.unrecoverable,
    missingBlocks: found.missingBlocks,
    unmerged: unmerged ? lfns(unmerged.files) : [],
    requested,
    storageUnlisted: found.storageUnlisted,
  }
}
