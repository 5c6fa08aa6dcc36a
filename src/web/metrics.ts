/** The Prometheus text exposition of the last run's figures per site (`GET /metrics`). */
import type { RunStats, SiteSummary, SummaryReader } from '../summary/types'
import { problemsOf, type SiteColour, siteState } from './state'

/** A label value as the text format wants it: backslash, double quote and line feed escaped. */
export function escapeLabel(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')
}

const PREFIX = 'dynamo_consistency_'

/** The gauges from the last run, with their help text. */
const GAUGES: readonly [name: string, help: string, value: (r: RunStats) => number][] = [
  ['last_run_timestamp_seconds', 'When the last run ended (unix seconds).', (r) => r.time],
  ['last_run_duration_seconds', 'How long the last run took.', (r) => r.duration],
  ['files', 'Files on storage in the last run.', (r) => r.files],
  ['directories', 'Directories on storage in the last run.', (r) => r.nodes],
  ['empty_directories', 'Empty directories in the last run.', (r) => r.empty],
  ['missing_files', 'Files in the inventory, not on storage, in the last run.', (r) => r.missing],
  ['missing_bytes', 'Bytes of the missing files in the last run.', (r) => r.missingSize],
  ['orphan_files', 'Files on storage unknown to the inventory in the last run.', (r) => r.orphan],
  ['orphan_bytes', 'Bytes of the orphans in the last run.', (r) => r.orphanSize],
  ['nosource_files', 'Missing files with no disk copy elsewhere in the last run.', (r) => r.nosource],
  ['unrecoverable_files', 'Missing files with no copy anywhere in the last run.', (r) => r.unrecoverable],
  ['unlisted_directories', 'Directories that could not be listed in the last run.', (r) => r.unlisted],
  [
    'unlisted_error_directories',
    'Directories whose listing failed with an error in the last run.',
    (r) => r.unlistedBad,
  ],
  ['unmerged_cleaned_files', 'Files removed from /store/unmerged in the last run.', (r) => r.unmerged],
  ['unmerged_cleaned_bytes', 'Bytes removed from /store/unmerged in the last run.', (r) => r.unmergedSize],
  ['held_back', '1 when a gate held back the last run\u2019s registry actions.', (r) => (r.heldBack ? 1 : 0)],
  [
    'last_run_failed',
    '1 when the last run failed: its storage could not be listed (refused credentials).',
    (r) => (r.failed ? 1 : 0),
  ],
]

const COLOURS: readonly SiteColour[] = ['green', 'blue', 'yellow', 'grey', 'red', 'none']

/**
 * Whether a run is good: it found files, its missing files and orphans are
 * within the site's MaxMissing and MaxOrphan, no file is unrecoverable and
 * no directory was unlisted with an error (what keeps a site off red).
 */
export function isGoodRun(site: SiteSummary, run: RunStats): boolean {
  return problemsOf({ ...site, last: run }).problems.length === 0
}

/**
 * When each site's last good run ended (unix seconds), or null when none
 * of its runs was good; sites without runs are left out. The history is
 * read only for the sites whose last run is not good.
 */
export async function lastGoodRuns(
  reader: SummaryReader,
  sites: readonly SiteSummary[],
): Promise<Map<string, number | null>> {
  const out = new Map<string, number | null>()
  for (const s of sites) {
    if (!s.last) continue
    if (isGoodRun(s, s.last)) {
      out.set(s.site, s.last.time)
      continue
    }
    const good = (await reader.history(s.site)).filter((r) => isGoodRun(s, r)).at(-1)
    out.set(s.site, good ? good.time : null)
  }
  return out
}

/**
 * The exposition text for the sites at time `now`. `lastGood` (from
 * `lastGoodRuns`) gives the times since each site's last good run; without
 * it they are given for the sites whose last run is good.
 */
export function metricsText(
  sites: readonly SiteSummary[],
  now: number,
  lastGood?: ReadonlyMap<string, number | null>,
): string {
  const out: string[] = []
  const label = (s: SiteSummary) => `site="${escapeLabel(s.site)}"`
  const withRuns = sites.filter((s) => s.last !== null)
  for (const [name, help, value] of GAUGES) {
    out.push(`# HELP ${PREFIX}${name} ${help}`, `# TYPE ${PREFIX}${name} gauge`)
    for (const s of withRuns) out.push(`${PREFIX}${name}{${label(s)}} ${value(s.last as RunStats)}`)
  }
  out.push(
    `# HELP ${PREFIX}site_info The site's run status and reporting flag (always 1).`,
    `# TYPE ${PREFIX}site_info gauge`,
  )
  for (const s of sites) {
    out.push(`${PREFIX}site_info{${label(s)},status="${s.status}",reporting="${s.reporting}"} 1`)
  }
  out.push(
    `# HELP ${PREFIX}site_colour The site's colour on the summary page (1 for its colour, 0 for the others).`,
    `# TYPE ${PREFIX}site_colour gauge`,
  )
  for (const s of sites) {
    const colour = siteState(s, now).colour
    for (const c of COLOURS) out.push(`${PREFIX}site_colour{${label(s)},colour="${c}"} ${c === colour ? 1 : 0}`)
  }
  out.push(
    `# HELP ${PREFIX}running_since_timestamp_seconds When the site's running check started (unix seconds).`,
    `# TYPE ${PREFIX}running_since_timestamp_seconds gauge`,
  )
  for (const s of sites) {
    if (s.runningSince !== null) out.push(`${PREFIX}running_since_timestamp_seconds{${label(s)}} ${s.runningSince}`)
  }
  out.push(
    `# HELP ${PREFIX}max_missing_files The site's MaxMissing: more missing files than this, nothing is acted on and the site is red.`,
    `# TYPE ${PREFIX}max_missing_files gauge`,
  )
  for (const s of sites) out.push(`${PREFIX}max_missing_files{${label(s)}} ${s.maxMissing}`)
  out.push(
    `# HELP ${PREFIX}max_orphan_files The site's MaxOrphan: more orphans than this, nothing is acted on and the site is red.`,
    `# TYPE ${PREFIX}max_orphan_files gauge`,
  )
  for (const s of sites) out.push(`${PREFIX}max_orphan_files{${label(s)}} ${s.maxOrphan}`)
  // a good run: files found, within MaxMissing and MaxOrphan, nothing unrecoverable or unlisted with an error
  const good = new Map<string, number | null>()
  for (const s of withRuns) {
    const known = lastGood?.get(s.site)
    if (known !== undefined) good.set(s.site, known)
    else if (isGoodRun(s, s.last as RunStats)) good.set(s.site, (s.last as RunStats).time)
    else if (lastGood) good.set(s.site, null)
  }
  out.push(
    `# HELP ${PREFIX}last_good_run_timestamp_seconds When the site's last good run ended (unix seconds): one that kept it off red.`,
    `# TYPE ${PREFIX}last_good_run_timestamp_seconds gauge`,
  )
  for (const [site, time] of good)
    if (time !== null) out.push(`${PREFIX}last_good_run_timestamp_seconds{site="${escapeLabel(site)}"} ${time}`)
  out.push(
    `# HELP ${PREFIX}seconds_since_last_good_run Seconds since the site's last good run ended (+Inf when none of its runs was good).`,
    `# TYPE ${PREFIX}seconds_since_last_good_run gauge`,
  )
  for (const [site, time] of good) {
    out.push(
      `${PREFIX}seconds_since_last_good_run{site="${escapeLabel(site)}"} ${time === null ? '+Inf' : Math.max(0, now - time)}`,
    )
  }
  return `${out.join('\n')}\n`
}
