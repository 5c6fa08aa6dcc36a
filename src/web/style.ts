/** The page's stylesheet, served as `assets/style.css`. */

import { COLOUR_SYMBOLS, type SiteColour } from './state'
import { COLUMNS } from './summary-page'

const cssString = (s: string) => `"${s.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`

/** Each column's width in the summary table's fixed layout, and the whole table's. */
const columnWidths = [
  ...COLUMNS.map((c) => `table.sites th[data-key="${c.key}"] { width: ${c.width}px; }`),
  `table.sites { min-width: ${COLUMNS.reduce((n, c) => n + c.width, 0)}px; }`,
  ...COLUMNS.flatMap((c, i) => (c.wrap ? [`table.sites td:nth-child(${i + 1}) { white-space: normal; }`] : [])),
].join('\n')

/** On a phone each site is a card, each figure labelled with its column's header (the site, its status and its links speak for themselves). */
const cardLabels = COLUMNS.flatMap((c, i) =>
  ['site', 'status', 'lists'].includes(c.key)
    ? []
    : [
        `  table.sites tbody.site > tr:first-child > td:nth-child(${i + 1})::before { content: ${cssString(c.header.replace(/\u00AD/g, ''))}; }`,
      ],
).join('\n')

/** The symbol of each colour, beside the colour wherever it is shown. */
const symbols = (Object.entries(COLOUR_SYMBOLS) as [SiteColour, string][])
  .map(
    ([colour, symbol]) =>
      `.dot.${colour}::after, tbody.site.${colour} td.status::before, .badge.${colour}::before { content: ${cssString(symbol)}; }`,
  )
  .join('\n')

export const STYLESHEET = `
:root {
  --fg: #1d2330; --muted: #5d6677; --line: #dde1e8; --bg: #f6f7f9; --card: #fff; --link: #1558b0;
  --green: #1e8e3e; --green-bg: #e7f5eb; --blue: #1a6fd1; --blue-bg: #e5effc; --yellow: #b88700; --yellow-bg: #fff5d1;
  --grey: #7a808a; --grey-bg: #eceef1; --red: #c5221f; --red-bg: #fde8e7;
  font-family: system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif;
  font-size: 14px; color: var(--fg); background: var(--bg);
}
* { box-sizing: border-box; }
body { margin: 0; }
a { color: var(--link); text-decoration: none; }
a:hover { text-decoration: underline; }
header.top { background: #1f2a3c; color: #fff; padding: 12px 24px; display: flex; flex-wrap: wrap; align-items: baseline; gap: 8px 20px; }
header.top h1 { font-size: 20px; margin: 0; font-weight: 600; }
header.top .meta { margin: 0; color: #c4cad6; font-size: 13px; }
header.top a { color: #9cc4ff; }
main { padding: 16px 24px 32px; }
footer { padding: 0 24px 24px; color: var(--muted); font-size: 12px; }
.overview { display: flex; flex-wrap: wrap; gap: 8px; margin-bottom: 12px; }
.chip { display: inline-flex; align-items: center; gap: 6px; padding: 4px 10px; border-radius: 14px; background: var(--card); border: 1px solid var(--line); font: inherit; font-size: 13px; color: var(--fg); cursor: pointer; }
.chip:hover { border-color: #aab; }
.chip[aria-pressed="true"] { border-color: #1f2a3c; box-shadow: inset 0 0 0 1px #1f2a3c; }
.chip.zero { opacity: 0.55; }
.chip b { font-variant-numeric: tabular-nums; }
.dot { width: 14px; height: 14px; border-radius: 50%; display: inline-flex; align-items: center; justify-content: center; background: #c8ccd3; color: #fff; font-size: 9px; font-weight: 700; line-height: 1; flex: none; }
.dot.none::after { color: #667; }
.dot.green { background: var(--green); } .dot.blue { background: var(--blue); } .dot.yellow { background: #e6ac00; }
.dot.grey { background: var(--grey); } .dot.red { background: var(--red); } .dot.none { background: #fff; border: 1px solid #aab; }
.controls { display: flex; flex-wrap: wrap; align-items: center; gap: 12px; margin-bottom: 10px; }
.tabs { display: inline-flex; border: 1px solid var(--line); border-radius: 6px; overflow: hidden; background: var(--card); }
.tabs button { border: 0; background: none; padding: 6px 14px; font: inherit; cursor: pointer; color: var(--fg); }
.tabs button + button { border-left: 1px solid var(--line); }
.tabs button[aria-selected="true"] { background: #1f2a3c; color: #fff; }
.tabs .n { color: var(--muted); font-variant-numeric: tabular-nums; margin-left: 4px; }
.tabs button[aria-selected="true"] .n { color: #c4cad6; }
input[type="search"] { font: inherit; padding: 5px 10px; border: 1px solid var(--line); border-radius: 6px; min-width: 220px; }
.status-line { color: var(--muted); font-size: 12px; margin-left: auto; }
.table-wrap { overflow-x: auto; background: var(--card); border: 1px solid var(--line); border-radius: 6px; }
table { border-collapse: collapse; width: 100%; }
th, td { padding: 5px 8px; border-bottom: 1px solid var(--line); white-space: nowrap; }
th { white-space: normal; min-width: 52px; position: sticky; top: 0; background: #f0f2f5; font-weight: 600; font-size: 12px; text-align: right; vertical-align: bottom; z-index: 1; }
th.text, td.text { text-align: left; }
td { text-align: right; font-variant-numeric: tabular-nums; }
/*
 * fixed layout: the widths come from the header, not from measuring every row (500 sites lay out in
 * a fraction of the time). They add up to what a 1280 px screen holds; a wider screen shares its
 * room among all columns, and a narrower one scrolls the table in its box.
 */
table.sites { table-layout: fixed; font-size: 12px; }
table.sites th, table.sites td { padding: 4px; }
table.sites th { font-size: 11px; min-width: 0; hyphens: manual; }
${columnWidths}
table.sortable th { cursor: pointer; user-select: none; }
table.sortable th:hover { background: #e4e8ee; }
th[aria-sort="ascending"]::after { content: " \\25B2"; font-size: 9px; }
th[aria-sort="descending"]::after { content: " \\25BC"; font-size: 9px; }
tbody.site > tr:first-child > td:first-child { border-left: 5px solid transparent; }
tbody.site.green > tr > td { background: var(--green-bg); } tbody.site.green > tr:first-child > td:first-child { border-left-color: var(--green); }
tbody.site.blue > tr > td { background: var(--blue-bg); } tbody.site.blue > tr:first-child > td:first-child { border-left-color: var(--blue); }
tbody.site.yellow > tr > td { background: var(--yellow-bg); } tbody.site.yellow > tr:first-child > td:first-child { border-left-color: #e6ac00; }
tbody.site.grey > tr > td { background: var(--grey-bg); color: var(--grey); } tbody.site.grey > tr:first-child > td:first-child { border-left-color: var(--grey); }
tbody.site.red > tr > td { background: var(--red-bg); } tbody.site.red > tr:first-child > td:first-child { border-left-color: var(--red); }
tbody.site:hover > tr > td { filter: brightness(0.97); }
td.zero, td.zero a { color: #a0a6b1; }
td.bad, td.bad a { color: var(--red); font-weight: 700; }
table.sites td.site { font-size: 13px; white-space: normal; overflow-wrap: anywhere; }
td.site a { font-weight: 600; }
.tag { display: inline-block; font-size: 11px; padding: 0 6px; border-radius: 8px; margin-left: 6px; border: 1px solid var(--line); color: var(--muted); background: #fff; font-weight: 500; }
.tag.act { border-color: #9bc59f; color: var(--green); }
td.status { color: var(--muted); text-align: left; white-space: normal; }
td.status::before { display: inline-block; width: 1.2em; font-weight: 700; }
tbody.site.red td.status::before { color: var(--red); } tbody.site.yellow td.status::before { color: var(--yellow); }
tbody.site.green td.status::before { color: var(--green); } tbody.site.blue td.status::before { color: var(--blue); }
td.status .tag { margin-left: 0; font-size: 10px; padding: 0 4px; }
td.lists { text-align: left; font-size: 11px; }
td.lists a + a::before { content: "\\00B7"; color: var(--muted); padding: 0 4px; display: inline-block; }
tr.held td { text-align: left; white-space: normal; font-size: 12px; color: #7a5200; padding-top: 0; }
tr.held td::before { content: "\\26A0  Gate held back actions: "; font-weight: 600; }
tr.held.warning td::before { content: "\\26A0  Warning: "; }
tbody.site.has-held > tr:first-child > td { border-bottom: 0; }
.none-yet { color: var(--muted); }
.empty-tab { padding: 24px; text-align: center; color: var(--muted); }
.legend { display: flex; flex-wrap: wrap; gap: 6px 16px; margin-top: 8px; }
.legend span { display: inline-flex; align-items: center; gap: 6px; }
/* the site page */
.facts { display: grid; grid-template-columns: repeat(auto-fill, minmax(150px, 1fr)); gap: 8px; margin-bottom: 12px; }
.fact { background: var(--card); border: 1px solid var(--line); border-radius: 6px; padding: 8px 10px; }
.fact .k { color: var(--muted); font-size: 12px; }
.fact .v { font-size: 18px; font-weight: 600; font-variant-numeric: tabular-nums; }
.fact.bad .v { color: var(--red); }
.badge::before { margin-right: 6px; font-weight: 700; }
.badge { display: inline-block; padding: 2px 10px; border-radius: 10px; font-size: 13px; background: #fff; color: var(--fg); }
.badge.green { background: var(--green-bg); color: var(--green); } .badge.blue { background: var(--blue-bg); color: var(--blue); }
.badge.yellow { background: var(--yellow-bg); color: var(--yellow); } .badge.grey { background: var(--grey-bg); color: var(--grey); }
.badge.red { background: var(--red-bg); color: var(--red); }
.notice { background: #fff8e1; border: 1px solid #f0d58c; border-radius: 6px; padding: 8px 12px; margin: 0 0 12px; }
.notice.red { background: var(--red-bg); border-color: #f3b6b3; }
.links { margin: 0 0 16px; }
.links a { margin-right: 12px; }
.charts { display: grid; grid-template-columns: repeat(auto-fill, minmax(min(460px, 100%), 1fr)); gap: 12px; margin-bottom: 20px; }
.chart { margin: 0; background: var(--card); border: 1px solid var(--line); border-radius: 6px; padding: 8px 8px 4px; min-width: 0; }
.chart figcaption { font-weight: 600; margin: 0 0 4px 4px; }
.chart .plot { min-height: 220px; }
h2 { font-size: 16px; margin: 20px 0 8px; }
${symbols}
/* up to 1440 px: less margin, more table */
@media (max-width: 1440px) {
  main { padding: 12px 8px 24px; }
  header.top { padding: 10px 8px; }
  footer { padding: 0 8px 16px; }
}
/* a phone: each site a card, its figures labelled; the headers sort */
@media (max-width: 700px) {
  main { padding: 8px 8px 20px; }
  header.top { padding: 8px; }
  footer { padding: 0 8px 12px; }
  input[type="search"] { min-width: 0; flex: 1 1 100%; }
  .status-line { margin-left: 0; }
  .sites-wrap { overflow: visible; background: none; border: 0; }
  table.sites { min-width: 0; width: 100%; table-layout: auto; display: block; }
  table.sites thead, table.sites thead tr { display: flex; flex-wrap: wrap; gap: 4px; }
  table.sites thead { margin-bottom: 8px; }
  table.sites thead th { position: static; width: auto; border: 1px solid var(--line); border-radius: 10px; padding: 2px 8px; background: var(--card); text-align: left; }
  table.sites thead th[data-key="lists"] { display: none; }
  table.sites tbody.site { display: block; background: var(--card); border: 1px solid var(--line); border-left-width: 6px; border-radius: 6px; margin-bottom: 8px; }
  table.sites tbody.site[hidden] { display: none; }
  table.sites tbody.site.red { border-left-color: var(--red); } table.sites tbody.site.yellow { border-left-color: #e6ac00; }
  table.sites tbody.site.green { border-left-color: var(--green); } table.sites tbody.site.blue { border-left-color: var(--blue); }
  table.sites tbody.site.grey { border-left-color: var(--grey); }
  table.sites tbody.site > tr:first-child { display: grid; grid-template-columns: repeat(2, minmax(0, 1fr)); }
  table.sites tbody.site > tr.held { display: block; }
  table.sites tbody.site > tr > td { display: flex; justify-content: space-between; gap: 6px; border: 0; white-space: normal; text-align: right; padding: 3px 8px; }
  table.sites tbody.site > tr:first-child > td:first-child { border-left: 0; }
  table.sites tbody.site > tr > td::before { color: var(--muted); text-align: left; font-weight: 400; }
  table.sites tbody.site > tr > td.site, table.sites tbody.site > tr > td.status, table.sites tbody.site > tr > td.lists { grid-column: 1 / -1; justify-content: flex-start; }
  table.sites tbody.site > tr > td.site { order: -2; font-size: 15px; padding-top: 6px; }
  table.sites tbody.site > tr > td.status { order: -1; }
  table.sites tbody.site > tr > td.site::before, table.sites tbody.site > tr > td.lists::before { content: none; }
  table.sites tbody.site > tr > td.status::before { width: auto; }
  table.sites tbody.site > tr > td.status::after { content: none; }
  .legend { font-size: 12px; }
${cardLabels}
}
`
