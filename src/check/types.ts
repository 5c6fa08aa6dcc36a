/** The options, the lists and the report of a check run. */
import type { Sql } from '../backends/sql'
import type { Backend, MissingBlock } from '../backends/types'
import type { Lfn } from '../lfn'
import type { Finding, SummaryStore } from '../summary/store'
import type { Reporting, RunStats } from '../summary/types'

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
