/**
 * What colour a site's row has on the summary page, and why:
 *
 * | colour | when |
 * |---|---|
 * | grey | the site is disabled or halted |
 * | red | the last run failed (its storage could not be listed: refused credentials), found zero files, missing files over MaxMissing, orphans over MaxOrphan, any unrecoverable file or any directory unlisted with an error |
 * | yellow | a run has been going for over 24 h |
 * | blue | the site is queued (picked, its run not started yet) |
 * | green | a run is going for under 24 h, or the last run ended within 24 h |
 * | none | otherwise (no run yet, or the last one is older than 24 h) |
 *
 * The first that applies wins. Green changes with time alone, so a state
 * carries when it next changes and to what: a static export's page applies
 * that in the browser and never shows a stale green.
 */
import type { SiteSummary } from '../summary/types'
import { DAY } from '../time'
import { plural } from '../words'
import { formatSpan } from './format'

export type SiteColour = 'grey' | 'red' | 'yellow' | 'blue' | 'green' | 'none'

/** A symbol for each colour, shown beside it: no state is told by colour alone. */
export const COLOUR_SYMBOLS: Record<SiteColour, string> = {
  red: '\u2716',
  yellow: '\u25F7',
  blue: '\u22EF',
  green: '\u2713',
  grey: '\u2016',
  none: '\u25CB',
}

/** The order of the summary page before any sort: what needs a look first (red, then yellow), then the rest. */
export const COLOUR_RANK: Record<SiteColour, number> = { red: 0, yellow: 1, blue: 2, green: 2, grey: 2, none: 2 }

/** The figures of a last run that make a site red. */
export type Problem = 'files' | 'missing' | 'orphan' | 'unrecoverable' | 'unlisted'

export interface SiteState {
  colour: SiteColour
  /** The run status in words: "disabled", "halted", "queued", "running 3 h", "ready". */
  label: string
  /** Why the site is red (empty unless it is). */
  problems: Problem[]
  /** Why each problem is one, in words. */
  reasons: string[]
  /** When the colour changes by time alone, or null. */
  until: number | null
  /** The colour from `until` on. */
  then: SiteColour | null
}

export { DAY }

/** The problems of a site's last run, with the reason for each. */
export function problemsOf(site: SiteSummary): { problems: Problem[]; reasons: string[] } {
  const problems: Problem[] = []
  const reasons: string[] = []
  const last = site.last
  if (!last) return { problems, reasons }
  const add = (p: Problem, why: string) => {
    problems.push(p)
    reasons.push(why)
  }
  if (last.failed) {
    add('files', `the last run failed: ${last.failed}`)
    return { problems, reasons }
  }
  if (last.files === 0) add('files', 'no files found on storage')
  if (last.missing > site.maxMissing)
    add('missing', `${plural(last.missing, 'missing file')} exceed MaxMissing ${site.maxMissing}`)
  if (last.orphan > site.maxOrphan) add('orphan', `${plural(last.orphan, 'orphan')} exceed MaxOrphan ${site.maxOrphan}`)
  if (last.unrecoverable > 0) add('unrecoverable', plural(last.unrecoverable, 'unrecoverable file'))
  if (last.unlistedBad > 0)
    add('unlisted', `${plural(last.unlistedBad, 'directory', 'directories')} unlisted with errors`)
  return { problems, reasons }
}

/** The state of a site at time `now` (unix seconds). */
export function siteState(site: SiteSummary, now: number): SiteState {
  const { problems, reasons } = problemsOf(site)
  const running = site.status === 'running' && site.runningSince !== null ? site.runningSince : null
  const runningFor = running === null ? '' : ` for ${formatSpan(now - running)}`
  const label =
    site.status === 'disabled'
      ? 'disabled'
      : site.status === 'halt'
        ? 'halted'
        : site.status === 'locked'
          ? 'queued'
          : site.status === 'running'
            ? `running${runningFor}`
            : 'ready'
  const state = (colour: SiteColour, until: number | null = null, then: SiteColour | null = null): SiteState => ({
    colour,
    label,
    problems,
    reasons,
    until,
    then,
  })
  if (site.status === 'disabled' || site.status === 'halt') return state('grey')
  if (problems.length) return state('red')
  if (running !== null) return now - running >= DAY ? state('yellow') : state('green', running + DAY, 'yellow')
  if (site.status === 'locked') return state('blue')
  if (site.status === 'running') return state('green')
  if (site.last && now - site.last.time < DAY) return state('green', site.last.time + DAY, 'none')
  return state('none')
}
