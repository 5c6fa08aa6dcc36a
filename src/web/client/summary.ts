// The summary page in the browser: sorting, the act/dry/all tabs, the
// colour chips, the filter, and the refresh. The state lives in the URL's
// hash (#tab=act&colour=red&sort=missing&dir=desc&q=T2_US), so a link or a
// reload keeps it. Before any sort, the sites that need a look come first
// (red, then yellow), then the rest, each by name.
import { dcRefresh, dcReplace, dcTick } from './common.js'

/** The order before any sort: red, then yellow, then the rest. */
const RANK: Record<string, number> = { red: 0, yellow: 1, blue: 2, green: 2, grey: 2, none: 2 }

function main(): void {
  interface View {
    tab: 'all' | 'act' | 'dry'
    colour: string | null
    sort: string | null
    dir: 'asc' | 'desc'
    q: string
  }

  const found = document.getElementById('sites') as HTMLTableElement | null
  if (!found) return
  const table = found
  const headers = Array.from(table.tHead?.rows[0]?.cells ?? []) as HTMLTableCellElement[]
  const filter = document.getElementById('filter') as HTMLInputElement | null

  function readView(): View {
    const p = new URLSearchParams(location.hash.slice(1))
    const tab = p.get('tab')
    const colour = p.get('colour')
    return {
      tab: tab === 'act' || tab === 'dry' ? tab : 'all',
      colour: colour !== null && Object.hasOwn(RANK, colour) ? colour : null,
      sort: p.get('sort'),
      dir: p.get('dir') === 'asc' ? 'asc' : 'desc',
      q: p.get('q') ?? '',
    }
  }

  let view = readView()

  function writeView(): void {
    const p = new URLSearchParams()
    if (view.tab !== 'all') p.set('tab', view.tab)
    if (view.colour) p.set('colour', view.colour)
    if (view.sort) {
      p.set('sort', view.sort)
      p.set('dir', view.dir)
    }
    if (view.q) p.set('q', view.q)
    const hash = p.toString()
    history.replaceState(null, '', hash ? `#${hash}` : location.pathname + location.search)
  }

  // one collator: localeCompare with options builds one per call
  const collator = new Intl.Collator('en', { numeric: true })

  const sites = (): HTMLTableSectionElement[] => Array.from(table.tBodies).filter((b) => b.classList.contains('site'))

  function sortValue(body: HTMLTableSectionElement, column: number): string | null {
    return body.rows[0]?.cells[column]?.dataset.v ?? null
  }

  function sortRows(): void {
    const column = headers.findIndex((h) => h.dataset.key === view.sort)
    for (const h of headers) h.removeAttribute('aria-sort')
    if (column < 0) {
      // no sort chosen: what needs a look first
      const rank = (b: HTMLTableSectionElement) => RANK[b.dataset.colour ?? ''] ?? 2
      const rows = sites().map((body) => ({ body, rank: rank(body), site: body.dataset.site ?? '' }))
      const before = rows.map((r) => r.body)
      rows.sort((a, b) => a.rank - b.rank || collator.compare(a.site, b.site))
      // the page comes in this order: moving 500 rows to where they are would lay them out again for nothing
      if (rows.every((r, i) => r.body === before[i])) return
      const fragment = document.createDocumentFragment()
      for (const r of rows) fragment.appendChild(r.body)
      table.appendChild(fragment)
      return
    }
    headers[column]?.setAttribute('aria-sort', view.dir === 'asc' ? 'ascending' : 'descending')
    const text = headers[column]?.classList.contains('text') && view.sort !== 'time'
    const sign = view.dir === 'asc' ? 1 : -1
    const rows = sites().map((body) => {
      const v = sortValue(body, column)
      return { body, v, n: v === null ? 0 : Number(v), site: body.dataset.site ?? '' }
    })
    rows.sort((a, b) => {
      // sites with no figure go last, whichever the direction
      if (a.v === null || b.v === null) return a.v === b.v ? collator.compare(a.site, b.site) : a.v === null ? 1 : -1
      const d = text ? collator.compare(a.v, b.v) : a.n - b.n
      return d !== 0 ? sign * d : collator.compare(a.site, b.site)
    })
    const fragment = document.createDocumentFragment()
    for (const r of rows) fragment.appendChild(r.body)
    table.appendChild(fragment)
  }

  function matcher(q: string): (site: string) => boolean {
    if (!q) return () => true
    try {
      const re = new RegExp(q, 'i')
      return (site) => re.test(site)
    } catch {
      const lower = q.toLowerCase()
      return (site) => site.toLowerCase().includes(lower)
    }
  }

  function applyFilter(): void {
    const match = matcher(view.q)
    const all = sites()
    let shown = 0
    // each tab and each chip counts what it shows, given the other choices
    const counts = { all: 0, act: 0, dry: 0 }
    const colours: Record<string, number> = {}
    for (const body of all) {
      const reporting = body.dataset.reporting === 'act' ? 'act' : 'dry'
      const colour = body.dataset.colour ?? ''
      const matches = match(body.dataset.site ?? '')
      const inTab = view.tab === 'all' || view.tab === reporting
      const ofColour = view.colour === null || view.colour === colour
      if (matches && ofColour) {
        counts.all++
        counts[reporting]++
      }
      if (matches && inTab) colours[colour] = (colours[colour] ?? 0) + 1
      const visible = matches && inTab && ofColour
      body.hidden = !visible
      if (visible) shown++
    }
    for (const chip of Array.from(document.querySelectorAll<HTMLButtonElement>('#overview .chip[data-colour]'))) {
      const colour = chip.dataset.colour ?? ''
      const n = colours[colour] ?? 0
      const b = chip.querySelector('b')
      if (b) b.textContent = String(n)
      chip.classList.toggle('zero', n === 0)
      chip.setAttribute('aria-pressed', String(view.colour === colour))
    }
    for (const button of Array.from(document.querySelectorAll<HTMLButtonElement>('.tabs button[data-tab]'))) {
      const tab = button.dataset.tab as View['tab']
      button.setAttribute('aria-selected', String(tab === view.tab))
      const n = button.querySelector('.n')
      if (n) n.textContent = String(counts[tab])
    }
    const empty = document.getElementById('empty-tab')
    if (empty) empty.hidden = shown > 0
    const line = document.getElementById('status-line')
    if (line && !line.dataset.failed) line.textContent = `${shown} of ${all.length} sites shown`
  }

  function apply(): void {
    sortRows()
    applyFilter()
  }

  table.classList.add('sortable')
  for (const h of headers) {
    h.tabIndex = 0
    const activate = () => {
      const key = h.dataset.key ?? null
      if (view.sort === key) view.dir = view.dir === 'asc' ? 'desc' : 'asc'
      else {
        view.sort = key
        // names read best A to Z; figures biggest first
        view.dir = h.classList.contains('text') && key !== 'time' ? 'asc' : 'desc'
      }
      writeView()
      sortRows()
    }
    h.addEventListener('click', activate)
    h.addEventListener('keydown', (e) => {
      if (e.key === 'Enter' || e.key === ' ') {
        e.preventDefault()
        activate()
      }
    })
  }
  for (const button of Array.from(document.querySelectorAll<HTMLButtonElement>('.tabs button[data-tab]'))) {
    button.addEventListener('click', () => {
      view.tab = button.dataset.tab as View['tab']
      writeView()
      applyFilter()
    })
  }
  // the chips are in #overview, which a refresh replaces: one listener on the document
  document.addEventListener('click', (e) => {
    const chip = (e.target as Element | null)?.closest<HTMLButtonElement>('#overview .chip[data-colour]')
    if (!chip) return
    const colour = chip.dataset.colour ?? null
    view.colour = view.colour === colour ? null : colour
    writeView()
    applyFilter()
  })
  if (filter) {
    filter.value = view.q
    filter.addEventListener('input', () => {
      view.q = filter.value
      writeView()
      applyFilter()
    })
  }
  window.addEventListener('hashchange', () => {
    view = readView()
    if (filter) filter.value = view.q
    apply()
  })

  dcTick(document)
  apply()
  document.body.dataset.ready = '1'
  performance.mark('dc-ready')

  dcRefresh(
    (next) => {
      const fresh = next.getElementById('sites') as HTMLTableElement | null
      if (!fresh) throw new Error('not the summary page')
      for (const body of sites()) body.remove()
      for (const body of Array.from(fresh.tBodies)) table.appendChild(document.importNode(body, true))
      dcReplace(next, 'overview')
      dcReplace(next, 'generated')
      apply()
    },
    (text, failed) => {
      const line = document.getElementById('status-line')
      if (!line) return
      if (failed) line.dataset.failed = '1'
      else delete line.dataset.failed
      line.title = text
      if (failed) line.textContent = text
      else applyFilter()
    },
  )
}

main()
