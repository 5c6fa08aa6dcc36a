/**
 * The pages' layout in Chromium at a phone's width (400 px), a laptop's
 * (1280 px) and a desktop's (1920 px): whole site names, no clipped cell,
 * nothing wider than the screen; the order, the chips and the symbols of
 * the summary, and the site page's plots. The screenshots of the README
 * (docs/screenshots/) are taken here, from the same pages, on a fixed
 * clock.
 */
import * as fs from 'node:fs'
import * as path from 'node:path'
import type { BrowserContext, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { RunStats, SiteSummary } from '../src/summary/types'
import { siteFileName } from '../src/web/html'
import { startWebServer, type WebServer } from '../src/web/server'
import { COLOUR_SYMBOLS, siteState } from '../src/web/state'
import { SHORT } from '../src/web/summary-page'
import { ROOT } from './helpers/cli'
import { launchBrowser, MemoryReader, run } from './helpers/web'

/** The pages' clock: a fixed time, so that the screenshots change only when the pages do. */
const NOW = Date.UTC(2026, 4, 4, 9, 30) / 1000
const H = 3600
const DAY = 86_400
const SCREENSHOTS = path.join(ROOT, 'docs', 'screenshots')
/** The longest site name of the store: 24 characters. */
const LONGEST = 'T3_CH_CERN_OpenData_Disk'
const HISTORY_SITE = 'T1_US_FNAL_Disk'

const NAMES = [
  'T0_CH_CERN_Disk',
  'T1_DE_KIT_Disk',
  'T1_ES_PIC_Disk',
  'T1_FR_CCIN2P3_Disk',
  'T1_IT_CNAF_Disk',
  'T1_UK_RAL_Disk',
  HISTORY_SITE,
  'T2_AT_Vienna',
  'T2_BE_IIHE',
  'T2_BR_SPRACE',
  'T2_CH_CERN',
  'T2_CH_CERN_HLT',
  'T2_CH_CSCS',
  'T2_DE_DESY',
  'T2_DE_RWTH',
  'T2_EE_Estonia',
  'T2_ES_CIEMAT',
  'T2_FR_GRIF_IRFU',
  'T2_IT_Legnaro',
  'T2_IT_Pisa',
  'T2_PT_NCG_Lisbon',
  'T2_UK_London_Brunel',
  'T2_UK_London_IC',
  'T2_UK_SGrid_Bristol_Test',
  'T2_US_Caltech',
  'T2_US_MIT',
  'T2_US_Nebraska',
  'T2_US_Wisconsin',
  LONGEST,
]

/**
 * Figures as large as a big site's, so that the widest cells are laid out;
 * every seventh site has a problem (red), with the largest figures.
 */
function figures(i: number, name: string): Partial<RunStats> {
  const big = name.startsWith('T1_') || name.startsWith('T0_')
  const bad = i % 7 === 0
  return {
    files: big ? 23_456_789 - i * 1000 : 1_234_567 + i * 7919,
    nodes: big ? 2_345_678 : 123_456 + i * 31,
    empty: big ? 12_345 : i * 3,
    missing: bad ? 123_456 : i % 3,
    missingSize: bad ? 1.23456e15 : (i % 3) * 2.5e9,
    orphan: bad ? 456_789 : i * 11,
    orphanSize: bad ? 987.65e12 : i * 3.3e9,
    nosource: bad ? 12_345 : 0,
    unrecoverable: bad ? 1_234 : 0,
    unlisted: bad || i % 4 === 0 ? 1_234 : 0,
    unlistedBad: bad ? 56 : 0,
    duration: big ? DAY + 2 * H + 3 * 60 + 4 : 1800 + i * 97,
    unmerged: big ? 1_234_567 : i * 100,
    unmergedSize: i * 1e9,
  }
}

function summaries(): { sites: SiteSummary[]; runs: Map<string, RunStats[]> } {
  const runs = new Map<string, RunStats[]>()
  const sites = NAMES.map((name, i): SiteSummary => {
    const status =
      name === 'T2_UK_London_IC'
        ? 'disabled'
        : name === 'T2_IT_Legnaro'
          ? 'halt'
          : name === 'T2_DE_RWTH' || name === 'T1_UK_RAL_Disk'
            ? 'running'
            : name === 'T2_ES_CIEMAT'
              ? 'locked'
              : 'ready'
    const runningSince = name === 'T1_UK_RAL_Disk' ? NOW - 2 * DAY : status === 'running' ? NOW - 3 * H : null
    const last = name === 'T2_BR_SPRACE' ? NOW - 3 * DAY : NOW - (i + 1) * 600
    const siteRuns = [run(name, last, figures(i, name))]
    runs.set(name, siteRuns)
    return {
      site: name,
      status: status === 'locked' ? 'locked' : status,
      reporting: i % 3 === 0 ? 'act' : 'dry',
      runningSince: status === 'locked' ? NOW - 60 : runningSince,
      last: null,
      maxMissing: 1000,
      maxOrphan: 5000,
    }
  })
  // one site's history: a run a day for 30 days, missing files crossing MaxMissing and back
  const history: RunStats[] = []
  for (let d = 29; d >= 0; d--) {
    const t = NOW - d * DAY - 2 * H
    history.push(
      run(HISTORY_SITE, t, {
        ...figures(6, HISTORY_SITE),
        files: 23_000_000 + (29 - d) * 15_000,
        missing: d > 8 && d < 14 ? 1400 + d * 10 : 200 + d * 20,
        orphan: 3000 + (d % 5) * 700,
        missingSize: (200 + d * 20) * 2.5e9,
        orphanSize: (3000 + (d % 5) * 700) * 1.1e9,
        duration: 20 * H + (d % 4) * H,
        unlisted: d % 6 === 0 ? 12 : 0,
        unlistedBad: d % 12 === 0 ? 2 : 0,
        nosource: d % 3,
        unrecoverable: 0,
        empty: 100 + d,
      }),
    )
  }
  runs.set(HISTORY_SITE, history)
  return { sites, runs }
}

const data = summaries()
const reader = new MemoryReader(data.sites, data.runs)
let server: WebServer
let browser: BrowserContext
let page: Page

beforeAll(async () => {
  server = await startWebServer({ reader, port: 0, refresh: 0, now: () => NOW })
  browser = await launchBrowser('web-layout')
  page = await browser.newPage()
  fs.mkdirSync(SCREENSHOTS, { recursive: true })
}, 60_000)

afterAll(async () => {
  await browser?.close()
  await server?.close()
})

async function open(width: number, target = ''): Promise<void> {
  await page.setViewportSize({ width, height: width < 700 ? 860 : 900 })
  await page.goto(`${server.url}${target}`)
  await page.waitForSelector('body[data-ready]')
  // the plots are drawn once their boxes have their width
  if (target.startsWith('sites/')) await page.waitForSelector('figure[data-chart="files"][data-drawn]')
}

/** The page is no wider than the screen. */
async function horizontalOverflow(): Promise<number> {
  return page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth)
}

/** Every cell of the summary table whose content is wider than its box. */
async function clippedCells(): Promise<string[]> {
  return page.$$eval('#sites th, #sites tbody.site:not([hidden]) td', (cells) =>
    (cells as HTMLElement[])
      .filter((c) => c.scrollWidth > c.clientWidth)
      .map((c) => {
        const body = c.closest('tbody')
        const key = c.tagName === 'TH' ? c.dataset.key : (body?.dataset.site ?? '?')
        return `${c.tagName} ${key} #${(c as HTMLTableCellElement).cellIndex}: ${c.textContent} (${c.scrollWidth} > ${c.clientWidth})`
      }),
  )
}

/** Site names as laid out: their text, and whether each is one line in its cell. */
async function siteNames(): Promise<{ name: string; text: string; lines: number; fits: boolean }[]> {
  return page.$$eval('#sites tbody.site td.site a', (links) =>
    (links as HTMLAnchorElement[]).map((a) => {
      const cell = a.closest('td') as HTMLElement
      const rects = a.getClientRects()
      const box = cell.getBoundingClientRect()
      const last = rects[rects.length - 1]
      return {
        name: (a.closest('tbody') as HTMLElement).dataset.site ?? '',
        text: a.textContent ?? '',
        lines: rects.length,
        fits: last !== undefined && last.right <= box.right + 0.5,
      }
    }),
  )
}

describe('the summary page', () => {
  for (const width of [1280, 1400, 1920]) {
    it(`at ${width} px: every site name whole on one line, no cell clipped, no sideways scroll`, async () => {
      await open(width)
      if (width !== 1400) await page.screenshot({ path: path.join(SCREENSHOTS, `summary-${width}.png`) })
      expect(await clippedCells()).toEqual([])
      const names = await siteNames()
      expect(names.map((n) => n.name).sort()).toEqual([...NAMES].sort())
      for (const n of names) {
        expect(n.text, n.name).toBe(n.name)
        expect(n.lines, n.name).toBe(1)
        expect(n.fits, n.name).toBe(true)
      }
      // the whole table on the screen: the last column too
      const wrap = await page.$eval('.table-wrap', (w) => ({ scroll: w.scrollWidth, client: w.clientWidth }))
      expect(wrap.scroll).toBeLessThanOrEqual(wrap.client)
      expect(await horizontalOverflow()).toBe(0)
      const lists = await page.$eval('#sites th[data-key="lists"]', (th) => th.getBoundingClientRect().right)
      expect(lists).toBeLessThanOrEqual(width)
      // the site column holds the longest name, and is not most of a wide screen
      const siteWidth = await page.$eval('#sites th[data-key="site"]', (th) => th.getBoundingClientRect().width)
      expect(siteWidth).toBeLessThan(width / 4)
    })
  }

  it('at 400 px: one card per site, each figure labelled, nothing wider than the screen', async () => {
    await open(400)
    await page.screenshot({ path: path.join(SCREENSHOTS, 'summary-400.png') })
    expect(await horizontalOverflow()).toBe(0)
    const cards = await page.$$eval('#sites tbody.site', (bodies) =>
      (bodies as HTMLElement[]).map((b) => {
        const r = b.getBoundingClientRect()
        return { left: r.left, right: r.right, display: getComputedStyle(b).display }
      }),
    )
    expect(cards).toHaveLength(NAMES.length)
    for (const c of cards) {
      expect(c.display).toBe('block')
      expect(c.left).toBeGreaterThanOrEqual(0)
      expect(c.right).toBeLessThanOrEqual(400)
    }
    // a figure has its column's name beside it
    const label = await page.$eval('#sites tbody.site td[data-v]:nth-child(5)', (td) =>
      getComputedStyle(td, '::before').content.replace(/"/g, ''),
    )
    expect(label).toBe('Files')
    const names = await siteNames()
    for (const n of names) expect(n.fits, n.name).toBe(true)
    // the headers sort: a click on one orders the cards
    await page.click('#sites th[data-key="missing"]')
    const first = await page.$eval('#sites tbody.site', (b) => (b as HTMLElement).dataset.site)
    const most = data.sites
      .map((s) => ({ site: s.site, missing: data.runs.get(s.site)?.at(-1)?.missing ?? 0 }))
      .sort((a, b) => b.missing - a.missing || a.site.localeCompare(b.site))[0]?.site
    expect(first).toBe(most)
  })

  it('puts what needs a look first: red, then yellow, then the rest by name', async () => {
    await open(1280)
    const now = NOW
    const sites = await reader.sites()
    const colourOf = new Map(sites.map((s) => [s.site, siteState(s, now).colour]))
    const rank = (site: string) => ({ red: 0, yellow: 1 })[colourOf.get(site) as 'red'] ?? 2
    const order = await page.$$eval('#sites tbody.site', (b) => b.map((x) => (x as HTMLElement).dataset.site ?? ''))
    const collator = new Intl.Collator('en', { numeric: true })
    const want = [...NAMES].sort((a, b) => rank(a) - rank(b) || collator.compare(a, b))
    expect(order).toEqual(want)
    expect(order.filter((s) => colourOf.get(s) === 'red').length).toBeGreaterThan(1)
    const firstOther = order.find((s) => colourOf.get(s) !== 'red') as string
    expect(colourOf.get(firstOther), `${firstOther} in ${order.map((s) => `${s} ${colourOf.get(s)}`).join(', ')}`).toBe(
      'yellow',
    )
    // the page as written, before its script, has the same order (a static copy without scripts)
    const html = await (await fetch(server.url)).text()
    const written = Array.from(html.matchAll(/<tbody [^>]*data-site="([^"]+)"/g), (m) => m[1])
    expect(written).toEqual(want)
  })

  it('gives every colour a symbol and words, and its chips count and filter what is shown', async () => {
    await open(1280)
    const sites = await reader.sites()
    const colourOf = (s: SiteSummary) => siteState(s, NOW).colour
    // each row's status cell begins with its colour's symbol and says the colour's meaning
    const rows = await page.$$eval('#sites tbody.site', (bodies) =>
      (bodies as HTMLElement[]).map((b) => {
        const status = b.querySelector('td.status') as HTMLElement
        return {
          colour: b.dataset.colour ?? '',
          symbol: getComputedStyle(status, '::before').content.replace(/"/g, ''),
          title: status.title,
        }
      }),
    )
    for (const r of rows) {
      expect(r.symbol).toBe(COLOUR_SYMBOLS[r.colour as keyof typeof COLOUR_SYMBOLS])
      expect(r.title).toBe(SHORT[r.colour as keyof typeof SHORT])
    }
    expect(new Set(Object.values(COLOUR_SYMBOLS)).size).toBe(6)
    const chipCount = async (colour: string) =>
      Number(await page.textContent(`#overview .chip[data-colour="${colour}"] b`))
    const shown = async () =>
      page.$$eval('#sites tbody.site:not([hidden])', (b) => b.map((x) => (x as HTMLElement).dataset.site ?? ''))
    for (const colour of ['red', 'yellow', 'green', 'grey', 'blue', 'none']) {
      expect(await chipCount(colour), colour).toBe(sites.filter((s) => colourOf(s) === colour).length)
      const symbol = await page.$eval(`#overview .chip[data-colour="${colour}"] .dot`, (d) =>
        getComputedStyle(d, '::after').content.replace(/"/g, ''),
      )
      expect(symbol).toBe(COLOUR_SYMBOLS[colour as keyof typeof COLOUR_SYMBOLS])
    }
    // the act tab: the chips count the act sites of each colour
    await page.click('.tabs button[data-tab="act"]')
    for (const colour of ['red', 'green', 'none']) {
      expect(await chipCount(colour), colour).toBe(
        sites.filter((s) => colourOf(s) === colour && s.reporting === 'act').length,
      )
    }
    // a chip filters: the red act sites, then all red ones, then a filter by name on top
    await page.click('#overview .chip[data-colour="red"]')
    const redAct = sites.filter((s) => colourOf(s) === 'red' && s.reporting === 'act').map((s) => s.site)
    expect((await shown()).sort()).toEqual(redAct.sort())
    expect(await page.getAttribute('#overview .chip[data-colour="red"]', 'aria-pressed')).toBe('true')
    expect(await page.textContent('.tabs button[data-tab="act"] .n')).toBe(String(redAct.length))
    await page.click('.tabs button[data-tab="all"]')
    const red = sites.filter((s) => colourOf(s) === 'red').map((s) => s.site)
    expect((await shown()).sort()).toEqual([...red].sort())
    await page.fill('#filter', 'T1_')
    expect((await shown()).sort()).toEqual(red.filter((s) => s.startsWith('T1_')).sort())
    expect(await chipCount('red')).toBe(red.filter((s) => s.startsWith('T1_')).length)
    expect(await chipCount('green')).toBe(
      sites.filter((s) => colourOf(s) === 'green' && s.site.startsWith('T1_')).length,
    )
    // kept in the address
    expect(new URL(page.url()).hash).toContain('colour=red')
    await page.click('#overview .chip[data-colour="red"]')
    expect((await shown()).sort()).toEqual(NAMES.filter((s) => s.startsWith('T1_')).sort())
  })
})

describe('the site page', () => {
  const target = `sites/${siteFileName(HISTORY_SITE)}.html`

  for (const width of [400, 1280, 1920]) {
    it(`at ${width} px: its plots within the screen, nothing wider than it`, async () => {
      await open(width, target)
      await page.screenshot({ path: path.join(SCREENSHOTS, `site-${width}.png`) })
      expect(await horizontalOverflow()).toBe(0)
      const plots = await page.$$eval('figure.chart', (figs) =>
        (figs as HTMLElement[]).map((f) => {
          const r = f.getBoundingClientRect()
          const canvas = f.querySelector('canvas')?.getBoundingClientRect()
          return { left: r.left, right: r.right, canvasRight: canvas?.right ?? Number.NaN }
        }),
      )
      expect(plots).toHaveLength(6)
      for (const p of plots) {
        expect(p.left).toBeGreaterThanOrEqual(0)
        expect(p.right).toBeLessThanOrEqual(width)
        expect(p.canvasRight).toBeLessThanOrEqual(p.right)
      }
    })
  }

  it('draws MaxMissing and MaxOrphan, dates in ISO form in UTC, and every axis with its unit', async () => {
    await open(1280, target)
    const history = data.runs.get(HISTORY_SITE) as RunStats[]
    const legend = await page.$$eval('figure[data-chart="missing-orphan"] .u-legend .u-series .u-label', (l) =>
      l.map((x) => x.textContent ?? ''),
    )
    expect(legend).toEqual(['time (UTC)', 'missing (files)', 'orphans (files)', 'MaxMissing', 'MaxOrphan'])
    // the threshold lines: drawn dashed at their values, in the missing and orphan colours
    const thresholds = await page.$eval('figure[data-chart="missing-orphan"]', (f) => ({
      missing: (f as HTMLElement).dataset.maxMissing,
      orphan: (f as HTMLElement).dataset.maxOrphan,
    }))
    expect(thresholds).toEqual({ missing: '1000', orphan: '5000' })
    // the x axis: ISO dates; the legend's time: ISO date and time in UTC
    const xTicks = ((await page.getAttribute('figure[data-chart="files"]', 'data-x-ticks')) ?? '').split('|')
    expect(xTicks.length).toBeGreaterThan(1)
    for (const t of xTicks) expect(t).toMatch(/^\d{4}-\d{2}-\d{2}( \d{2}:\d{2})?$/)
    await page.hover('figure[data-chart="files"] .u-over', { position: { x: 5, y: 50 } })
    const time = await page.textContent('figure[data-chart="files"] .u-legend .u-series:first-child .u-value')
    expect(time).toMatch(/^\d{4}-\d{2}-\d{2} \d{2}:\d{2} UTC$/)
    const first = new Date((history[0] as RunStats).time * 1000).toISOString().slice(0, 16).replace('T', ' ')
    expect(time).toBe(`${first} UTC`)
    // every axis has its unit
    const labels = await page.$$eval('figure.chart', (figs) =>
      (figs as HTMLElement[]).map((f) => [f.dataset.chart, (f.dataset.axes ?? '').split('|')]),
    )
    expect(Object.fromEntries(labels)).toEqual({
      files: ['time (UTC)', 'files'],
      'missing-orphan': ['time (UTC)', 'files'],
      sizes: ['time (UTC)', 'TB'],
      duration: ['time (UTC)', 'hours'],
      unlisted: ['time (UTC)', 'directories'],
      recovery: ['time (UTC)', 'files'],
    })
  })
})
