/**
 * What the summary store holds about sites and their runs: the contract
 * between the check (which writes it) and the web page and API (which read
 * it). Times are unix seconds; sizes are bytes.
 */

/** Run status of a site. `disabled` is never overwritten by a run. */
export type RunStatus = 'disabled' | 'halt' | 'ready' | 'locked' | 'running'

/** Whether the check may act on a site's registry (`act`) or only report (`dry`). */
export type Reporting = 'dry' | 'act'

/** The figures of one finished run on one site. */
export interface RunStats {
  site: string
  /** When the run ended. */
  time: number
  files: number
  nodes: number
  empty: number
  missing: number
  missingSize: number
  orphan: number
  orphanSize: number
  /** Missing files with no disk copy elsewhere. */
  nosource: number
  /** Missing files with no copy anywhere, tape included. */
  unrecoverable: number
  unlisted: number
  /** Unlisted directories whose listing failed with an error (not just a timeout). */
  unlistedBad: number
  /** Seconds the run took. */
  duration: number
  threads: number
  /** Files removed from /store/unmerged. */
  unmerged: number
  unmergedSize: number
  /** Why a gate held back registry actions in this run, or null. */
  heldBack: string | null
  /**
   * Why the run failed, or null (absent: null): its storage could not be
   * listed at all (the server refused the credentials). A failed run's
   * figures are zeros and it has no findings.
   */
  failed?: string | null
  /**
   * A warning of the run, or null (absent: null): the site's proxy was to
   * expire before a listing as long as the site's last run would end.
   */
  warning?: string | null
}

/** One site as the summary page shows it. */
export interface SiteSummary {
  site: string
  status: RunStatus
  reporting: Reporting
  /** When the running check started, when one runs. */
  runningSince: number | null
  /** The last finished run, if any. */
  last: RunStats | null
  maxMissing: number
  maxOrphan: number
}

/** Read access to the summary store. */
export interface SummaryReader {
  sites(): Promise<SiteSummary[]>
  /** Finished runs of a site, oldest first. */
  history(site: string): Promise<RunStats[]>
  close(): Promise<void>
}
