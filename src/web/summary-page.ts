/**
 * The summary page: one row per site with its last run's figures, coloured
 * by its state (see `state.ts`), with links to its lists, its log and its
 * history page. Sorting, the act/dry/all tabs, the filter and the refresh
 * are done in the browser by `client/summary.ts`; the page reads fine
 * without them.
 */
import type { SiteSummary } from '../summary/types'
import { formatBytes } from '../words'
import { type ListKind, listFileName } from './files'
import { formatAge, formatCount, formatDuration, formatTB, formatTime } from './format'
import { escapeHtml, href, siteFileName } from './html'
import { document } from './page'
import { COLOUR_RANK, type Problem, type SiteColour, type SiteState, siteState } from './state'

/** Sizes in titles: two decimals under 10 of a unit. */
const FINE = { fine: true }

export interface PageOptions {
  /** Unix seconds the page is made at. */
  now: number
  /** Seconds between the page's refreshes of itself. */
  refresh: number
  /**
   * Served by `web serve` (made when asked for): the browser reads ages
   * on the server's clock. A static copy (`web install`) is read on the
   * browser's clock, so that it ages as it sits.
   */
  live?: boolean
}

/** The attributes of `<body>` every page has. */
export function bodyAttributes(page: string, options: PageOptions): string {
  const live = options.live ? ' data-live="1"' : ''
  return `data-page="${page}" data-now="${options.now}" data-refresh="${options.refresh}"${live}`
}

/** The colours, in the order the overview and the legend show them, with what each means. */
export const COLOURS: readonly { colour: SiteColour; meaning: string }[] = [
  {
    colour: 'red',
    meaning:
      'needs a look: no files, missing over MaxMissing, orphans over MaxOrphan, unrecoverable files or directories unlisted with errors',
  },
  { colour: 'yellow', meaning: 'running for over 24 h' },
  { colour: 'blue', meaning: 'queued' },
  { colour: 'green', meaning: 'ran within 24 h, or running for under 24 h' },
  { colour: 'grey', meaning: 'disabled or halted' },
  { colour: 'none', meaning: 'no run within 24 h' },
]

/** What each colour means, in a few words (the chips, and the status cell's title). */
export const SHORT: Record<SiteColour, string> = {
  red: 'need a look',
  yellow: 'running over 24 h',
  blue: 'queued',
  green: 'fresh',
  grey: 'disabled or halted',
  none: 'no recent run',
}

/** A table cell: its text or HTML, the value it sorts by, and its classes. */
interface Cell {
  html: string
  sort: string | number | null
  className?: string
  title?: string
}

interface Column {
  key: string
  header: string
  /**
   * Its width in pixels in the table's fixed layout (padding included):
   * the widths add up to what a 1280 px screen holds, with whole site
   * names and the figures of a large site.
   */
  width: number
  /** Its figures may wrap at a space (a run of over a day, unlisted with errors) rather than widen the column. */
  wrap?: boolean
  tip: string
  text?: boolean
  /** The problem that marks this cell red. */
  problem?: Problem
  cell(site: SiteSummary, state: SiteState, now: number): Cell
}

const none: Cell = { html: '<span class="none-yet">\u2013</span>', sort: null }

/** A link to a list; the column's header says what the list is. */
function listLink(site: string, kind: ListKind, text: string): string {
  return `<a href="${href(listFileName(site, kind))}">${text}</a>`
}

/** Zeros are greyed: the figures that are not zero stand out. */
const zero = (n: number): Pick<Cell, 'className'> => (n === 0 ? { className: 'zero' } : {})

function count(pick: (last: NonNullable<SiteSummary['last']>) => number, link?: ListKind): Column['cell'] {
  return (s) => {
    if (!s.last) return none
    const n = pick(s.last)
    const text = formatCount(n)
    return {
      html: link ? listLink(s.site, link, text) : text,
      sort: n,
      ...zero(n),
    }
  }
}

function size(pick: (last: NonNullable<SiteSummary['last']>) => number): Column['cell'] {
  return (s) => {
    if (!s.last) return none
    const bytes = pick(s.last)
    return {
      html: formatTB(bytes),
      sort: bytes,
      title: `${formatBytes(bytes, FINE)} (${bytes} bytes)`,
      ...zero(bytes),
    }
  }
}

/** The summary table's columns, in order. */
export const COLUMNS: Column[] = [
  {
    key: 'time',
    header: 'Last update',
    width: 84,
    tip: 'when the last run ended',
    text: true,
    cell: (s, _, now) =>
      s.last
        ? {
            html: `<time datetime="${new Date(s.last.time * 1000).toISOString()}" data-time="${s.last.time}">${formatAge(s.last.time, now)}</time>`,
            sort: s.last.time,
            title: formatTime(s.last.time),
          }
        : { html: '<span class="none-yet">never</span>', sort: null },
  },
  {
    key: 'site',
    header: 'Site',
    width: 222,
    tip: 'the site; its page has the history of its runs',
    text: true,
    cell: (s) => ({
      html: `<a href="${href('sites', `${siteFileName(s.site)}.html`)}">${escapeHtml(s.site)}</a>`,
      sort: s.site,
      className: 'site',
      title: s.site,
    }),
  },
  {
    key: 'status',
    header: 'Status',
    width: 86,
    tip: 'what the colour means (its symbol), the run status (ready, queued, running, halted or disabled) and the reporting flag (act or dry)',
    text: true,
    cell: (s, st) => ({
      html: `<span class="state">${escapeHtml(st.label)}</span> <span class="tag ${s.reporting}">${s.reporting}</span>`,
      sort: st.label,
      className: 'status',
      title: SHORT[st.colour],
    }),
  },
  {
    key: 'duration',
    header: 'Run time',
    width: 66,
    wrap: true,
    tip: 'how long the last run took (h:mm:ss)',
    cell: (s) => (s.last ? { html: formatDuration(s.last.duration), sort: s.last.duration } : none),
  },
  {
    key: 'files',
    header: 'Files',
    width: 84,
    tip: 'files on storage',
    problem: 'files',
    cell: (s, state, now) => (s.last?.failed ? { html: 'failed', sort: -1 } : count((l) => l.files)(s, state, now)),
  },
  { key: 'nodes', header: 'Direc\u00ADtories', width: 74, tip: 'directories on storage', cell: count((l) => l.nodes) },
  {
    key: 'unlisted',
    header: 'Unlisted (errors)',
    width: 60,
    wrap: true,
    tip: 'directories that could not be listed (of them, those that failed with an error, not a timeout)',
    problem: 'unlisted',
    cell: (s) => {
      if (!s.last) return none
      const text = `${formatCount(s.last.unlisted)} (${formatCount(s.last.unlistedBad)})`
      return { html: listLink(s.site, 'unlisted', text), sort: s.last.unlisted, ...zero(s.last.unlisted) }
    },
  },
  { key: 'empty', header: 'Empty', width: 52, tip: 'empty directories', cell: count((l) => l.empty, 'empty') },
  {
    key: 'missing',
    header: 'Missing',
    width: 64,
    tip: 'files in the inventory, not on storage; the link is the summary by block',
    problem: 'missing',
    cell: (s) => {
      if (!s.last) return none
      const text = formatCount(s.last.missing)
      return { html: listLink(s.site, 'datasets', text), sort: s.last.missing, ...zero(s.last.missing) }
    },
  },
  {
    key: 'nosource',
    header: 'No source',
    width: 52,
    tip: 'missing files with no disk copy elsewhere',
    cell: count((l) => l.nosource, 'nosource'),
  },
  {
    key: 'unrecoverable',
    header: 'Unrecov\u00ADerable',
    width: 64,
    tip: 'missing files with no copy anywhere, tape included',
    problem: 'unrecoverable',
    cell: count((l) => l.unrecoverable, 'unrecoverable'),
  },
  {
    key: 'missingSize',
    header: 'Missing size (TB)',
    width: 58,
    tip: 'bytes of the missing files',
    cell: size((l) => l.missingSize),
  },
  {
    key: 'orphan',
    header: 'Orphans',
    width: 64,
    tip: 'files on storage unknown to the inventory',
    problem: 'orphan',
    cell: count((l) => l.orphan, 'orphan'),
  },
  {
    key: 'orphanSize',
    header: 'Orphan size (TB)',
    width: 54,
    tip: 'bytes of the orphans',
    cell: size((l) => l.orphanSize),
  },
  {
    key: 'unmerged',
    header: 'Unmerged cleaned',
    width: 74,
    tip: 'files removed from /store/unmerged',
    cell: (s) =>
      s.last
        ? { html: formatCount(s.last.unmerged), sort: s.last.unmerged, title: formatBytes(s.last.unmergedSize, FINE) }
        : none,
  },
  {
    key: 'lists',
    header: 'Lists',
    width: 82,
    tip: 'the list of missing files and the log of the last run; each figure links to its own list',
    text: true,
    cell: (s) => {
      if (!s.last) return { html: '', sort: null, className: 'lists' }
      const lists = [listLink(s.site, 'missing', 'missing')]
      lists.push(`<a href="${href('logs', `${siteFileName(s.site)}.log`)}">log</a>`)
      return { html: lists.join(''), sort: null, className: 'lists' }
    },
  },
]

function renderCell(column: Column, site: SiteSummary, state: SiteState, now: number): string {
  const cell = column.cell(site, state, now)
  const classes = [cell.className, column.text ? 'text' : undefined]
  let title = cell.title
  if (column.problem && state.problems.includes(column.problem)) {
    classes.push('bad')
    title = state.reasons[state.problems.indexOf(column.problem)]
  }
  const cls = classes.filter(Boolean).join(' ')
  const sort = cell.sort === null ? '' : ` data-v="${escapeHtml(cell.sort)}"`
  return `<td${cls ? ` class="${cls}"` : ''}${sort}${title ? ` title="${escapeHtml(title)}"` : ''}>${cell.html}</td>`
}

/** One site: a `<tbody>` (so its held-back line sorts with it). */
export function siteRows(site: SiteSummary, now: number): string {
  const state = siteState(site, now)
  const attributes = [
    `class="site ${state.colour}${site.last?.heldBack || site.last?.warning ? ' has-held' : ''}"`,
    `data-site="${escapeHtml(site.site)}"`,
    `data-reporting="${site.reporting}"`,
    `data-colour="${state.colour}"`,
    state.until !== null ? `data-until="${state.until}" data-then="${state.then}"` : '',
    state.reasons.length ? `title="${escapeHtml(state.reasons.join('; '))}"` : '',
  ].filter(Boolean)
  const cells = COLUMNS.map((c) => renderCell(c, site, state, now)).join('')
  const line = (cls: string, text: string | null | undefined) =>
    text ? `\n<tr class="${cls}"><td colspan="${COLUMNS.length}">${escapeHtml(text)}</td></tr>` : ''
  const held = line('held', site.last?.heldBack) + line('held warning', site.last?.warning)
  return `<tbody ${attributes.join(' ')}>\n<tr>${cells}</tr>${held}\n</tbody>`
}

/** The colour counts above the table. */
function overview(states: SiteState[]): string {
  const chips = COLOURS.map(({ colour, meaning }) => {
    const n = states.filter((s) => s.colour === colour).length
    return `<button type="button" class="chip${n ? '' : ' zero'}" data-colour="${colour}" aria-pressed="false" title="${escapeHtml(meaning)}: show only these sites"><span class="dot ${colour}" aria-hidden="true"></span><b>${n}</b> ${SHORT[colour]}</button>`
  })
  return `<section id="overview" class="overview">${chips.join('')}</section>`
}

const byName = new Intl.Collator('en', { numeric: true })

/** The whole summary page. */
export function summaryPage(sites: readonly SiteSummary[], options: PageOptions): string {
  const { now } = options
  const states = sites.map((s) => siteState(s, now))
  const act = sites.filter((s) => s.reporting === 'act').length
  const tabs = [
    ['all', 'All', sites.length],
    ['act', 'Act', act],
    ['dry', 'Dry', sites.length - act],
  ] as const
  const tabButtons = tabs
    .map(
      ([tab, label, n]) =>
        `<button type="button" role="tab" data-tab="${tab}" aria-selected="${tab === 'all'}">${label}<span class="n">${n}</span></button>`,
    )
    .join('')
  const head = COLUMNS.map(
    (c) =>
      `<th scope="col" data-key="${c.key}"${c.text ? ' class="text"' : ''} title="${escapeHtml(c.tip)}">${escapeHtml(c.header)}</th>`,
  ).join('')
  // what needs a look first: red, then yellow, then the rest, each by name (the browser keeps this order until a sort)
  const order = sites
    .map((s, i) => ({ s, rank: COLOUR_RANK[(states[i] as SiteState).colour] }))
    .sort((a, b) => a.rank - b.rank || byName.compare(a.s.site, b.s.site))
  const body = order.map(({ s }) => siteRows(s, now)).join('\n')
  const legend = COLOURS.map(
    ({ colour, meaning }) =>
      `<span><span class="dot ${colour}" aria-hidden="true"></span>${escapeHtml(meaning)}</span>`,
  ).join('')
  const main = `${overview(states)}
<div class="controls">
<nav class="tabs" role="tablist" aria-label="sites by reporting flag">${tabButtons}</nav>
<input type="search" id="filter" placeholder="Filter sites (name or pattern)" aria-label="filter sites">
<span class="status-line" id="status-line">${sites.length} sites</span>
</div>
<div class="table-wrap sites-wrap">
<table id="sites" class="sites">
<thead><tr>${head}</tr></thead>
${body}
</table>
<p class="empty-tab" id="empty-tab"${sites.length ? ' hidden' : ''}>No site here.</p>
</div>
<div class="legend">${legend}</div>`
  const header = `<h1>Storage consistency</h1>
<p class="meta"><span id="generated" data-time="${now}">${sites.length} sites, as of ${formatTime(now)}</span> \u00B7 <a href="config.json">running configuration</a> \u00B7 <a href="api/sites.json">JSON</a> \u00B7 <a href="metrics.txt">metrics</a></p>`
  return document({
    title: `Storage consistency \u00B7 ${sites.length} sites`,
    root: '',
    script: 'summary.js',
    bodyAttributes: bodyAttributes('summary', options),
    header,
    main,
    footer:
      'Act sites get deletion and transfer requests in the registry; dry sites are only reported. Sizes in TB are 10<sup>12</sup> bytes.',
  })
}
