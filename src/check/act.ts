/**
 * The last step of a check: the gates, and the registry requests of a
 * trusted site. Acting happens only at act sites, only below the gates. A
 * stop is heard before each batch of requests, never between a batch and
 * its marks: a batch not marked acted is asked for again by the next run.
 */
import type { TransferRequest } from '../backends/types'
import { config } from '../config'
import { plural } from '../words'
import { HaltedError, type Run, throwIfAborted } from './context'
import type { Copied, Findings } from './findings'
import type { Recorded } from './record'
import type { UnmergedResult } from './unmerged'

/** Why nothing is written to the registry this run (missing files over `MaxMissing`, orphans over `MaxOrphan`), or null. */
export function gate(run: Run, found: Findings): string | null {
  const maxMissing = config.get<number>('MaxMissing')
  const maxOrphan = config.get<number>('MaxOrphan')
  const held: string[] = []
  const missing = found.missing.length
  const orphan = found.orphan.length
  if (missing > maxMissing) held.push(`${plural(missing, 'missing file')} exceed MaxMissing ${maxMissing}`)
  if (orphan > maxOrphan) held.push(`${plural(orphan, 'orphan')} exceed MaxOrphan ${maxOrphan}`)
  const heldBack = held.length ? held.join('; ') : null
  if (heldBack) run.log.info(`held back: ${heldBack}`)
  return heldBack
}

/** Ask the registry for the deletions and transfers the run confirmed; returns how many were asked for. */
export async function act(
  run: Run,
  found: Findings & Copied,
  recorded: Recorded,
  unmerged: UnmergedResult | null,
  heldBack: string | null,
): Promise<{ deletions: number; transfers: number }> {
  const { site, store, log, options, lease } = run
  const { registry } = run.backend
  const { runId, deletable } = recorded
  const requested = { deletions: 0, transfers: 0 }
  throwIfAborted(run)
  // the site as it is now, not as it was picked: still this worker's, still act
  const reportingNow =
    run.reporting === 'act' ? await store.confirmLease(site, lease.owner, lease.seconds) : run.reporting
  if (reportingNow === null) throw new HaltedError(site, 'the lease on the site was lost to another worker')
  if (reportingNow !== 'act') log.info('dry site: no registry requests')
  else if (options.dry) log.info('dry run (--test): no registry requests')
  else if (heldBack) log.info('no registry requests: held back')
  else {
    if (options.noOrphan) log.info('--no-orphan: no deletion of orphans requested')
    if (config.get<boolean>('DeleteOrphans') && !options.noOrphan && deletable.orphan.length) {
      requested.deletions += await registry.delete(site, deletable.orphan)
      await store.markActed(site, runId, 'orphan', deletable.orphan)
    }
    if (deletable.empty.length) {
      throwIfAborted(run)
      requested.deletions += await registry.delete(site, deletable.empty)
      await store.markActed(site, runId, 'empty', deletable.empty)
    }
    if (unmerged?.files.length) {
      throwIfAborted(run)
      const lfns = unmerged.files.map((f) => f.lfn)
      requested.deletions += await registry.delete(site, lfns)
      await store.markActed(site, runId, 'unmerged', lfns)
    }
    // one request per source, as the original's registry: disk copies, else tape
    const transfers = recorded.confirmedMissing.flatMap((lfn) => {
      const c = found.copies.get(lfn)
      const sources = c?.disk.length ? c.disk : (c?.tape ?? [])
      return sources.map((source): TransferRequest => ({ lfn, source }))
    })
    if (config.get<boolean>('UseTransferQueue') && transfers.length) {
      throwIfAborted(run)
      requested.transfers += await registry.transfer(site, transfers)
      await store.markActed(site, runId, 'missing', [...new Set(transfers.map((t) => t.lfn))])
    }
    log.info(`requested ${requested.deletions} deletions and ${requested.transfers} transfers`)
  }
  return requested
}
