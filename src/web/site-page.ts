/**
 * A site's page: its state, the figures of its last run, links to its
 * lists and log, plots of its runs over time (drawn in the browser by
 * uPlot from the history embedded as JSON) and the table of its runs.
 */
import type { RunStats, SiteSummary } from '../summary/types'
import { formatBytes } from '../words'
import { LISTS, listFileName } from './files'
import { formatAge, formatCount, formatDuration, formatTB, formatTime } from './format'
import { escapeHtml, href, jsonForScript, siteFileName } from './html'
import { document } from './page'
import { siteState } from './state'
import { bodyAttributes, type PageOptions } from './summary-page'

/** Sizes in titles: two decimals under 10 of a unit. */
const FINE = { fine: true }

/** The figures the plots draw, one array per figure, runs oldest first. */
export const HISTORY_SERIES = [
  'time',
  'files',
  'nodes',
  'missing',
  'missingSize',
  'orphan',
  'orphanSize',
  'duration',
  'unlisted',
  'unlistedBad',
  'empty',
  'nosource',
  'unrecoverable',
] as const

export type HistoryColumns = Record<(typeof HISTORY_SERIES)[number], number[]>

/** The history as columns, as the plots take it. */
export function historyColumns(runs: readonly RunStats[]): HistoryColumns {
  const out = {} as HistoryColumns
  for (const key of HISTORY_SERIES) out[key] = runs.map((r) => r[key])
  return out
}

function fact(label: string, value: string, title?: string, bad = false): string {
  return `<div class="fact${bad ? ' bad' : ''}"${title ? ` title="${escapeHtml(title)}"` : ''}><div class="k">${escapeHtml(label)}</div><div class="v">${value}</div></div>`
}

/** The plots: id, caption; the browser script knows their series. */
const CHARTS = [
  ['files', 'Files on storage'],
  ['missing-orphan', 'Missing files and orphans'],
  ['sizes', 'Missing and orphan size'],
  ['duration', 'Run time'],
  ['unlisted', 'Unlisted and empty directories'],
  ['recovery', 'No source and unrecoverable files'],
] as const

function runsTable(runs: readonly RunStats[]): string {
  const head = [
    'Ended',
    'Run time',
    'Files',
    'Directories',
    'Unlisted (errors)',
    'Empty',
    'Missing',
    'No source',
    'Unrecoverable',
    'Missing size (TB)',
    'Orphans',
    'Orphan size (TB)',
    'Unmerged cleaned',
    'Held back',
  ]
  const rows = [...runs].reverse().map((r) => {
    const cells = [
      `<td class="text" data-v="${r.time}">${formatTime(r.time)}</td>`,
      `<td data-v="${r.duration}">${formatDuration(r.duration)}</td>`,
      ...[r.files, r.nodes].map((n) => `<td data-v="${n}">${formatCount(n)}</td>`),
      `<td data-v="${r.unlisted}">${formatCount(r.unlisted)} (${formatCount(r.unlistedBad)})</td>`,
      ...[r.empty, r.missing, r.nosource, r.unrecoverable].map((n) => `<td data-v="${n}">${formatCount(n)}</td>`),
      `<td data-v="${r.missingSize}" title="${formatBytes(r.missingSize, FINE)}">${formatTB(r.missingSize)}</td>`,
      `<td data-v="${r.orphan}">${formatCount(r.orphan)}</td>`,
      `<td data-v="${r.orphanSize}" title="${formatBytes(r.orphanSize, FINE)}">${formatTB(r.orphanSize)}</td>`,
      `<td data-v="${r.unmerged}" title="${formatBytes(r.unmergedSize, FINE)}">${formatCount(r.unmerged)}</td>`,
      `<td class="text">${r.heldBack ? escapeHtml(r.heldBack) : ''}</td>`,
    ]
    return `<tr>${cells.join('')}</tr>`
  })
  const header = head.map(
    (h, i) => `<th scope="col"${i === 0 || i === head.length - 1 ? ' class="text"' : ''}>${h}</th>`,
  )
  return `<div class="table-wrap"><table id="runs" class="runs"><thead><tr>${header.join('')}</tr></thead>
<tbody>
${rows.join('\n')}
</tbody></table></div>`
}

/** The whole page of one site. */
export function sitePage(site: SiteSummary, runs: readonly RunStats[], options: PageOptions): string {
  const { now } = options
  const state = siteState(site, now)
  const last = site.last
  const facts: string[] = []
  if (last) {
    const bad = (p: string) => state.problems.includes(p as never)
    facts.push(
      fact(
        'Last run ended',
        `<time data-time="${last.time}">${formatAge(last.time, now)}</time>`,
        formatTime(last.time),
      ),
      fact('Run time', formatDuration(last.duration)),
      fact('Files', last.failed ? 'failed' : formatCount(last.files), undefined, bad('files')),
      fact('Directories', formatCount(last.nodes)),
      fact('Missing', formatCount(last.missing), `MaxMissing ${site.maxMissing}`, bad('missing')),
      fact('Missing size (TB)', formatTB(last.missingSize), formatBytes(last.missingSize, FINE)),
      fact('Orphans', formatCount(last.orphan), `MaxOrphan ${site.maxOrphan}`, bad('orphan')),
      fact('Orphan size (TB)', formatTB(last.orphanSize), formatBytes(last.orphanSize, FINE)),
      fact('No source', formatCount(last.nosource)),
      fact('Unrecoverable', formatCount(last.unrecoverable), undefined, bad('unrecoverable')),
      fact(
        'Unlisted (errors)',
        `${formatCount(last.unlisted)} (${formatCount(last.unlistedBad)})`,
        undefined,
        bad('unlisted'),
      ),
      fact('Empty directories', formatCount(last.empty)),
    )
  }
  const notices: string[] = []
  if (state.reasons.length)
    notices.push(`<p class="notice red">Needs a look: ${escapeHtml(state.reasons.join('; '))}.</p>`)
  if (last?.warning) notices.push(`<p class="notice held">Warning: ${escapeHtml(last.warning)}</p>`)
  if (last?.heldBack) notices.push(`<p class="notice held">Gate held back actions: ${escapeHtml(last.heldBack)}</p>`)
  const links = last
    ? [
        ...LISTS.map((l) => `<a href="../${href(listFileName(site.site, l.kind))}">${escapeHtml(l.label)}</a>`),
        `<a href="../${href('logs', `${siteFileName(site.site)}.log`)}">log of the last run</a>`,
        '<a href="../config.json">running configuration</a>',
        `<a href="../${href('api', 'sites', siteFileName(site.site), 'history.json')}">history as JSON</a>`,
      ]
    : []
  // the gates of the site, drawn as lines on the plot of missing files and orphans
  const thresholds = ` data-max-missing="${site.maxMissing}" data-max-orphan="${site.maxOrphan}"`
  const charts = CHARTS.map(
    ([id, caption]) =>
      `<figure class="chart" data-chart="${id}"${id === 'missing-orphan' ? thresholds : ''}><figcaption>${escapeHtml(caption)}</figcaption><div class="plot"></div></figure>`,
  ).join('\n')
  const main = `<section class="facts">${facts.join('\n') || '<p class="none-yet">No run yet.</p>'}</section>
${notices.join('\n')}
${links.length ? `<p class="links">Lists: ${links.join(' ')}</p>` : ''}
<h2>History: ${formatCount(runs.length)} run${runs.length === 1 ? '' : 's'}</h2>
<section class="charts" id="charts">
${charts}
</section>
<script type="application/json" id="history">${jsonForScript(historyColumns(runs))}</script>
<h2>Runs, newest first</h2>
${runsTable(runs)}`
  const header = `<a href="../index.html">\u2190 all sites</a>
<h1 id="site-name">${escapeHtml(site.site)}</h1>
<span class="badge ${state.colour}" id="site-state" data-colour="${state.colour}"${state.until !== null ? ` data-until="${state.until}" data-then="${state.then}"` : ''}>${escapeHtml(state.label)}</span>
<span class="tag ${site.reporting}">${site.reporting}</span>
<p class="meta"><span id="generated" data-time="${now}">as of ${formatTime(now)}</span> \u00B7 MaxMissing ${formatCount(site.maxMissing)} \u00B7 MaxOrphan ${formatCount(site.maxOrphan)}</p>`
  return document({
    title: `${site.site} \u00B7 storage consistency`,
    root: '../',
    script: 'site.js',
    bodyAttributes: bodyAttributes('site', options),
    header,
    main,
    charts: true,
  })
}
