/**
 * The summary page as operators see it: a summary store filled by real
 * `check` runs on local sites, the page served by `web serve` (and
 * exported by `web install`), driven in headless Chromium.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import * as fs from 'node:fs'
import * as http from 'node:http'
import type { AddressInfo } from 'node:net'
import * as os from 'node:os'
import * as path from 'node:path'
import type { BrowserContext, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { openEmbeddedDatabase } from '../src/backends'
import { config } from '../src/config'
import { openSummary } from '../src/summary/store'
import type { RunStats, SiteSummary } from '../src/summary/types'
import { formatAge, formatCount } from '../src/web/format'
import { siteFileName } from '../src/web/html'
import { startWebServer } from '../src/web/server'
import { siteState } from '../src/web/state'
import { CLI, cli, tempDir, writeFile } from './helpers/cli'
import { colouredPixels, drawnPixels, launchBrowser, screenshot } from './helpers/web'

/** Site names in the order the page sorts them. */
const bySiteName = new Intl.Collator('en', { numeric: true }).compare
const XSS_SITE = '<img src=x onerror=document.body.dataset.xss=1>'
const COPIES = 'T1_US_FNAL_Disk'

interface SiteSpec {
  site: string
  reporting: 'act' | 'dry'
  /** Files on storage and in the inventory. */
  common: number
  /** Files only on storage (orphans). */
  dark: number
  /** Files only in the inventory (missing); those with a disk copy elsewhere. */
  lost: number
  lostWithCopy: number
  /** Files added to storage only between the first and the second run. */
  darkLater?: number
  /** Environment of the check runs (configuration overrides). */
  env?: Record<string, string>
  /** What happens to the site after the runs. */
  status?: 'disable' | 'halt' | 'queue' | 'run'
}

const SPECS: SiteSpec[] = [
  { site: 'T2_CH_CERN', reporting: 'act', common: 6, dark: 0, lost: 0, lostWithCopy: 0, darkLater: 2 },
  { site: 'T2_DE_DESY', reporting: 'dry', common: 5, dark: 3, lost: 2, lostWithCopy: 2, darkLater: 1 },
  // more missing files than the gate allows: red, and held back
  { site: 'T2_IT_Pisa', reporting: 'act', common: 4, dark: 1, lost: 3, lostWithCopy: 3, env: { MaxMissing: '2' } },
  { site: 'T3_US_Empty', reporting: 'dry', common: 0, dark: 0, lost: 2, lostWithCopy: 2 },
  { site: 'T2_US_Nebraska', reporting: 'act', common: 3, dark: 0, lost: 2, lostWithCopy: 1 },
  { site: 'T2_FR_GRIF', reporting: 'dry', common: 2, dark: 0, lost: 0, lostWithCopy: 0, status: 'disable' },
  // red figures, but halted: grey wins
  { site: 'T2_UK_London_IC', reporting: 'act', common: 2, dark: 0, lost: 1, lostWithCopy: 0, status: 'halt' },
  { site: 'T2_ES_CIEMAT', reporting: 'dry', common: 3, dark: 1, lost: 0, lostWithCopy: 0, status: 'queue' },
  { site: 'T2_RU_JINR', reporting: 'act', common: 2, dark: 2, lost: 1, lostWithCopy: 1, status: 'run' },
  { site: XSS_SITE, reporting: 'dry', common: 2, dark: 1, lost: 0, lostWithCopy: 0 },
]

const lfn = (site: string, kind: string, i: number) =>
  `/store/${i % 2 ? 'data' : 'mc'}/Run3/${kind}_${siteFileName(site).replace(/%/g, 'x')}/AODSIM/v1/000/${kind}${i}.root`
const sizeOf = (i: number, kind: string) => 1000 * (kind === 'lost' ? 7 : kind === 'dark' ? 3 : 1) + i

let dir: string
let configFile: string
let storageOf: (site: string) => string
let server: ChildProcess | null = null
let url: string
let browser: BrowserContext
let page: Page
/** Expected figures of each site's last run, computed from the files put in. */
const expected = new Map<
  string,
  {
    files: number
    missing: number
    orphan: number
    missingSize: number
    orphanSize: number
    nosource: number
    runs: number
  }
>()

function checkRun(site: string, env: Record<string, string> = {}): void {
  const r = cli(['check', '--site', site, '--config', configFile, '--quiet'], { env })
  expect(r.code, r.stderr).toBe(0)
  expect(r.stdout).toContain(`${site} (`)
}

async function fillStore(): Promise<void> {
  const accessMethod: Record<string, string> = {}
  for (const s of SPECS) accessMethod[s.site] = `local:${storageOf(s.site)}`
  fs.writeFileSync(
    configFile,
    JSON.stringify({
      VarLocation: path.join(dir, 'var'),
      WebDir: path.join(dir, 'www'),
      AccessMethod: accessMethod,
      IgnoreAge: 1,
    }),
  )
  config.setLocation(configFile)
  // the inventory: each site's files, and the copies of some lost ones at a disk site
  const db = openEmbeddedDatabase()
  try {
    await db.transaction(async (tx) => {
      await tx.run(`INSERT INTO sites (name, storage_type) VALUES (?, 'disk')`, [COPIES])
      for (const s of SPECS) {
        await tx.run(`INSERT INTO sites (name, storage_type) VALUES (?, 'disk')`, [s.site])
        const rows: [string, number][] = []
        for (let i = 0; i < s.common; i++) rows.push([lfn(s.site, 'common', i), sizeOf(i, 'common')])
        for (let i = 0; i < s.lost; i++) rows.push([lfn(s.site, 'lost', i), sizeOf(i, 'lost')])
        for (const [name, size] of rows) {
          await tx.run(
            `INSERT INTO replicas (site, lfn, size, block, grp, complete) VALUES (?, ?, ?, '', 'DataOps', 1)`,
            [s.site, name, size],
          )
        }
        for (let i = 0; i < s.lostWithCopy; i++) {
          await tx.run(
            `INSERT INTO replicas (site, lfn, size, block, grp, complete) VALUES (?, ?, ?, '', 'DataOps', 1)`,
            [COPIES, lfn(s.site, 'lost', i), sizeOf(i, 'lost')],
          )
        }
      }
    })
  } finally {
    await db.close()
  }
  // the storage, and the runs
  for (const s of SPECS) {
    const root = storageOf(s.site)
    fs.mkdirSync(path.join(root, 'store', 'mc'), { recursive: true })
    fs.mkdirSync(path.join(root, 'store', 'data'), { recursive: true })
    for (let i = 0; i < s.common; i++) writeFile(path.join(root, lfn(s.site, 'common', i)), sizeOf(i, 'common'))
    for (let i = 0; i < s.dark; i++) writeFile(path.join(root, lfn(s.site, 'dark', i)), sizeOf(i, 'dark'))
    let st = cli(['set-status', s.site, s.reporting, '--config', configFile])
    // set-status takes plain site names only; the odd one keeps the default (dry)
    if (s.site !== XSS_SITE) expect(st.code, st.stderr).toBe(0)
    checkRun(s.site, s.env)
    let runs = 1
    let dark = s.dark
    if (s.darkLater) {
      for (let i = 0; i < s.darkLater; i++)
        writeFile(path.join(root, lfn(s.site, 'dark', s.dark + i)), sizeOf(s.dark + i, 'dark'))
      dark += s.darkLater
      checkRun(s.site, s.env)
      runs++
    }
    const sum = (n: number, kind: string) =>
      Array.from({ length: n }, (_, i) => sizeOf(i, kind)).reduce((a, b) => a + b, 0)
    expected.set(s.site, {
      files: s.common + dark,
      missing: s.lost,
      orphan: dark,
      missingSize: sum(s.lost, 'lost'),
      orphanSize: sum(dark, 'dark'),
      nosource: s.lost - s.lostWithCopy,
      runs,
    })
    if (s.status === 'disable' || s.status === 'halt') {
      st = cli(['set-status', s.site, s.status, '--config', configFile])
      expect(st.code, st.stderr).toBe(0)
    }
  }
  // another worker picks two sites: one waits in the queue, one runs
  const store = await openSummary()
  try {
    const worker = { host: `${os.hostname()}-other-worker`, pid: 1, owner: 'other-worker', leaseSeconds: 3600 }
    for (const s of SPECS.filter((x) => x.status === 'queue' || x.status === 'run')) {
      const picked = await store.pick(new RegExp(`^${s.site}$`), async () => true, worker)
      expect(picked?.site).toBe(s.site)
      if (s.status === 'run') await store.markRunning(s.site, worker.owner)
    }
  } finally {
    await store.close()
  }
}

async function storeSites(): Promise<SiteSummary[]> {
  const store = await openSummary()
  try {
    return await store.sites()
  } finally {
    await store.close()
  }
}

async function storeHistory(site: string): Promise<RunStats[]> {
  const store = await openSummary()
  try {
    return await store.history(site)
  } finally {
    await store.close()
  }
}

function serve(args: string[]): Promise<{ child: ChildProcess; url: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, 'web', 'serve', '--port', '0', '--config', configFile, ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let out = ''
    let err = ''
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString()
      const m = /serving the summary page on (http:\/\/127\.0\.0\.1:\d+\/)/.exec(out)
      if (m) resolve({ child, url: m[1] as string })
    })
    child.stderr.on('data', (d: Buffer) => {
      err += d.toString()
    })
    child.on('exit', (code) => reject(new Error(`web serve exited with ${code}: ${err}`)))
  })
}

async function get(target: string): Promise<{ status: number; type: string; body: string }> {
  const r = await fetch(target)
  return { status: r.status, type: r.headers.get('content-type') ?? '', body: await r.text() }
}

/** The rows of the summary table as shown: site, colour, shown and sort values by column key. */
async function tableRows(p: Page) {
  return p.$$eval('#sites tbody.site', (bodies) =>
    (bodies as HTMLTableSectionElement[]).map((b) => {
      const table = b.closest('table') as HTMLTableElement
      const keys = Array.from(table.tHead?.rows[0]?.cells ?? []).map((c) => (c as HTMLElement).dataset.key ?? '')
      const cells: Record<string, { text: string; v: string | null; bad: boolean }> = {}
      Array.from(b.rows[0]?.cells ?? []).forEach((c, i) => {
        cells[keys[i] as string] = {
          text: c.textContent ?? '',
          v: c.dataset.v ?? null,
          bad: c.classList.contains('bad'),
        }
      })
      return {
        site: b.dataset.site ?? '',
        colour: b.dataset.colour ?? '',
        visible: !b.hidden,
        held: b.querySelector('tr.held')?.textContent ?? null,
        cells,
      }
    }),
  )
}

/** The link of a site's figure in the column `key`, as written in the page. */
async function cellLink(p: Page, site: string, key: string): Promise<string | null> {
  return p.$$eval(
    '#sites tbody.site',
    (bodies, [site, key]) => {
      const body = (bodies as HTMLTableSectionElement[]).find((b) => b.dataset.site === site)
      const keys = Array.from(document.querySelectorAll<HTMLElement>('#sites thead th')).map((h) => h.dataset.key)
      return body?.rows[0]?.cells[keys.indexOf(key)]?.querySelector('a')?.getAttribute('href') ?? null
    },
    [site, key] as const,
  )
}

beforeAll(async () => {
  dir = tempDir('web')
  configFile = path.join(dir, 'config.json')
  storageOf = (site) => path.join(dir, 'storage', siteFileName(site))
  await fillStore()
  const started = await serve(['--refresh', '1'])
  server = started.child
  url = started.url
  browser = await launchBrowser('web')
  page = await browser.newPage()
}, 240_000)

afterAll(async () => {
  await browser?.close()
  if (server?.pid) {
    server.kill('SIGTERM')
    await new Promise((r) => server?.once('exit', r))
  }
  config.setLocation(null)
})

describe('the summary page in Chromium, on a store filled by check runs', () => {
  it('shows every site with the figures of its last run, its colour and its gate', async () => {
    const sites = await storeSites()
    const now = Math.floor(Date.now() / 1000)
    await page.goto(url)
    await page.waitForSelector('body[data-ready]')
    await screenshot(page, 'web-summary')
    const rows = await tableRows(page)
    expect(rows.map((r) => r.site).sort()).toEqual(sites.map((s) => s.site).sort())
    expect(rows.map((r) => r.site)).toContain(XSS_SITE)
    for (const s of sites) {
      const row = rows.find((r) => r.site === s.site)
      expect(row, s.site).toBeDefined()
      if (!row) continue
      expect(row.colour, s.site).toBe(siteState(s, now).colour)
      const want = expected.get(s.site)
      if (!want) {
        // never checked: no figures
        expect(s.last).toBeNull()
        expect(row.cells.files?.v).toBeNull()
        continue
      }
      // what the check runs found, as computed from the files put in
      expect(s.last?.files, s.site).toBe(want.files)
      expect(s.last?.missing, s.site).toBe(want.missing)
      expect(s.last?.orphan, s.site).toBe(want.orphan)
      expect(s.last?.missingSize, s.site).toBe(want.missingSize)
      expect(s.last?.orphanSize, s.site).toBe(want.orphanSize)
      expect(s.last?.nosource, s.site).toBe(want.nosource)
      // and what the page shows of the store
      const last = s.last as RunStats
      for (const key of ['files', 'nodes', 'empty', 'missing', 'nosource', 'unrecoverable', 'orphan'] as const) {
        expect(row.cells[key]?.v, `${s.site} ${key}`).toBe(String(last[key]))
        expect(row.cells[key]?.text, `${s.site} ${key}`).toBe(formatCount(last[key]))
      }
      expect(row.cells.missingSize?.v).toBe(String(last.missingSize))
      expect(row.cells.orphanSize?.v).toBe(String(last.orphanSize))
      expect(row.cells.unlisted?.text).toBe(`${last.unlisted} (${last.unlistedBad})`)
      expect(row.cells.time?.v).toBe(String(last.time))
      expect(row.held).toBe(last.heldBack)
    }
    // the colours this store must give
    const colour = (site: string) => rows.find((r) => r.site === site)?.colour
    expect(colour('T2_CH_CERN')).toBe('green')
    expect(colour('T2_DE_DESY')).toBe('green')
    expect(colour('T2_IT_Pisa')).toBe('red')
    expect(colour('T3_US_Empty')).toBe('red')
    expect(colour('T2_US_Nebraska')).toBe('red')
    expect(colour('T2_FR_GRIF')).toBe('grey')
    expect(colour('T2_UK_London_IC')).toBe('grey')
    expect(colour('T2_ES_CIEMAT')).toBe('blue')
    expect(colour('T2_RU_JINR')).toBe('green')
    expect(colour(COPIES)).toBe('none')
    // red cells say which figure is the problem
    const row = (site: string) => rows.find((r) => r.site === site)
    expect(row('T3_US_Empty')?.cells.files?.bad).toBe(true)
    expect(row('T2_IT_Pisa')?.cells.missing?.bad).toBe(true)
    expect(row('T2_US_Nebraska')?.cells.unrecoverable?.bad).toBe(true)
    expect(row('T2_CH_CERN')?.cells.missing?.bad).toBe(false)
    // the gate's line
    expect(row('T2_IT_Pisa')?.held).toContain('exceed MaxMissing 2')
    // the computed background colours differ by state
    const backgrounds = await page.$$eval('#sites tbody.site', (bodies) =>
      Object.fromEntries(
        (bodies as HTMLElement[]).map((b) => [
          b.dataset.colour,
          getComputedStyle(b.querySelector('td') as Element).backgroundColor,
        ]),
      ),
    )
    expect(new Set(Object.values(backgrounds)).size).toBe(Object.keys(backgrounds).length)
  })

  it('keeps the odd site name as text', async () => {
    await page.goto(url)
    await page.waitForSelector('body[data-ready]')
    const cell = page.locator('#sites tbody.site td.site a', { hasText: XSS_SITE })
    expect(await cell.count()).toBe(1)
    expect(await cell.textContent()).toBe(XSS_SITE)
    expect(await page.locator('#sites img').count()).toBe(0)
    expect(await page.evaluate(() => document.body.dataset.xss)).toBeUndefined()
    // its own page too
    await cell.click()
    await page.waitForSelector('body[data-ready]')
    expect(await page.locator('#site-name').textContent()).toBe(XSS_SITE)
    expect(await page.locator('header img, main img').count()).toBe(0)
    expect(await page.evaluate(() => document.body.dataset.xss)).toBeUndefined()
    await screenshot(page, 'web-site-odd-name')
  })

  it('sorts by a column both ways and by site name', async () => {
    const sites = await storeSites()
    await page.goto(url)
    await page.waitForSelector('body[data-ready]')
    const order = async () => (await tableRows(page)).map((r) => r.site)
    const bySite = bySiteName
    const withRuns = sites.filter((s) => s.last)
    const without = sites
      .filter((s) => !s.last)
      .map((s) => s.site)
      .sort(bySite)
    const byMissing = (dir: number) =>
      [...withRuns]
        .sort((a, b) => dir * ((a.last as RunStats).missing - (b.last as RunStats).missing) || bySite(a.site, b.site))
        .map((s) => s.site)
    await page.click('th[data-key="missing"]')
    expect(await order()).toEqual([...byMissing(-1), ...without])
    expect(await page.getAttribute('th[data-key="missing"]', 'aria-sort')).toBe('descending')
    await page.click('th[data-key="missing"]')
    expect(await order()).toEqual([...byMissing(1), ...without])
    await page.click('th[data-key="site"]')
    expect(await order()).toEqual(sites.map((s) => s.site).sort(bySite))
    // the sort is kept in the address: a reload keeps it
    await page.click('th[data-key="orphan"]')
    const byOrphan = [...withRuns]
      .sort((a, b) => (b.last as RunStats).orphan - (a.last as RunStats).orphan || bySite(a.site, b.site))
      .map((s) => s.site)
    expect(await order()).toEqual([...byOrphan, ...without])
    await page.reload()
    await page.waitForSelector('body[data-ready]')
    expect(await order()).toEqual([...byOrphan, ...without])
  })

  it('shows act, dry or all sites in its tabs', async () => {
    const sites = await storeSites()
    await page.goto(url)
    await page.waitForSelector('body[data-ready]')
    const visible = async () =>
      (await tableRows(page))
        .filter((r) => r.visible)
        .map((r) => r.site)
        .sort()
    for (const tab of ['act', 'dry', 'all'] as const) {
      await page.click(`.tabs button[data-tab="${tab}"]`)
      const want = sites
        .filter((s) => tab === 'all' || s.reporting === tab)
        .map((s) => s.site)
        .sort()
      expect(await visible(), tab).toEqual(want)
      expect(await page.textContent(`.tabs button[data-tab="${tab}"] .n`)).toBe(String(want.length))
      expect(await page.getAttribute(`.tabs button[data-tab="${tab}"]`, 'aria-selected')).toBe('true')
      if (tab === 'act') await screenshot(page, 'web-summary-act')
    }
    // the filter narrows the tab
    await page.fill('#filter', 'T2_')
    expect(await visible()).toEqual(
      sites
        .filter((s) => s.site.includes('T2_'))
        .map((s) => s.site)
        .sort(),
    )
  })

  it('links every list, the log and the running configuration', async () => {
    await page.goto(url)
    await page.waitForSelector('body[data-ready]')
    const web = path.join(dir, 'www')
    const hrefs = await page.$$eval('#sites tbody.site[data-site="T2_IT_Pisa"] a', (as) =>
      (as as HTMLAnchorElement[]).map((a) => a.href),
    )
    for (const suffix of [
      'missing',
      'orphan',
      'unlisted',
      'missing_nosite',
      'unrecoverable',
      'missing_datasets',
      'empty',
    ]) {
      const name = `T2_IT_Pisa_compare_${suffix}.txt`
      const target = hrefs.find((h) => decodeURIComponent(h).endsWith(`/${name}`))
      expect(target, name).toBeDefined()
      const r = await get(target as string)
      expect(r.status, name).toBe(200)
      expect(r.body, name).toBe(fs.readFileSync(path.join(web, name), 'utf8'))
    }
    // the missing figure links to the summary by block
    expect(await cellLink(page, 'T2_IT_Pisa', 'missing')).toBe('T2_IT_Pisa_compare_missing_datasets.txt')
    const log = hrefs.find((h) => h.endsWith('/logs/T2_IT_Pisa.log'))
    expect((await get(log as string)).body).toMatch(/check of T2_IT_Pisa/)
    const configuration = JSON.parse((await get(`${url}config.json`)).body)
    expect(configuration.values.MaxMissing).toBe(config.get('MaxMissing'))
    expect(configuration.configuration).toBe(configFile)
    // the odd name's lists too
    const oddList = await cellLink(page, XSS_SITE, 'orphan')
    expect(decodeURIComponent(oddList as string)).toBe(`${XSS_SITE}_compare_orphan.txt`)
    expect((await get(new URL(oddList as string, url).href)).body).toBe(
      fs.readFileSync(path.join(web, `${XSS_SITE}_compare_orphan.txt`), 'utf8'),
    )
  })

  it('draws each site history and lists its runs', async () => {
    for (const s of await storeSites()) {
      const runs = await storeHistory(s.site)
      await page.goto(`${url}sites/${encodeURIComponent(siteFileName(s.site))}.html`)
      await page.waitForSelector('body[data-ready]')
      expect(await page.locator('#site-name').textContent()).toBe(s.site)
      expect(await page.locator('#runs tbody tr').count()).toBe(runs.length)
      const want = expected.get(s.site)
      if (want) expect(runs.length).toBe(want.runs)
      if (runs.length) {
        await page.waitForSelector(`figure[data-chart="files"][data-drawn="${runs.length}"]`)
        const charts = await page.$$eval('figure.chart', (fs) => fs.map((f) => (f as HTMLElement).dataset.drawn))
        expect(charts).toEqual(Array(6).fill(String(runs.length)))
        // the files line is drawn in its colour, on the canvas
        expect((await drawnPixels(page, 'figure[data-chart="files"] canvas'))[0]).toBeGreaterThan(0)
        expect(await colouredPixels(page, 'figure[data-chart="files"] canvas', [0x1a, 0x6f, 0xd1])).toBeGreaterThan(20)
        // the newest run first in the table, with its figures
        const first = await page.$$eval('#runs tbody tr:first-child td', (tds) =>
          tds.map((t) => (t as HTMLElement).dataset.v),
        )
        const newest = runs.at(-1) as RunStats
        expect(first.slice(0, 4)).toEqual([newest.time, newest.duration, newest.files, newest.nodes].map(String))
      }
      await screenshot(page, `web-site-${siteFileName(s.site)}`)
    }
  })

  it('answers the API and the metrics with the store figures', async () => {
    const sites = await storeSites()
    const api = await get(`${url}api/sites`)
    expect(api.type).toMatch(/^application\/json/)
    const doc = JSON.parse(api.body) as { sites: (SiteSummary & { state: { colour: string } })[] }
    expect(doc.sites.map(({ state: _, ...s }) => s)).toEqual(sites)
    for (const s of SPECS) {
      const history = JSON.parse((await get(`${url}api/sites/${encodeURIComponent(s.site)}/history`)).body)
      expect(history.runs).toEqual(await storeHistory(s.site))
    }
    expect((await get(`${url}api/sites/T9_NO_SUCH/history`)).status).toBe(404)
    const metrics = await get(`${url}metrics`)
    expect(metrics.type).toMatch(/^text\/plain; version=0\.0\.4/)
    for (const s of sites.filter((x) => x.last)) {
      const last = s.last as RunStats
      expect(metrics.body).toContain(`dynamo_consistency_missing_files{site="${s.site}"} ${last.missing}\n`)
      expect(metrics.body).toContain(`dynamo_consistency_orphan_bytes{site="${s.site}"} ${last.orphanSize}\n`)
      expect(metrics.body).toContain(`dynamo_consistency_files{site="${s.site}"} ${last.files}\n`)
    }
    // the server is read-only
    const post = await fetch(url, { method: 'POST' })
    expect(post.status).toBe(405)
    expect((await get(`${url}..%2f..%2fetc%2fpasswd`)).status).toBe(404)
    expect((await get(`${url}logs/..%2F..%2Fconfig.json.log`)).status).toBe(404)
  })

  it('turns a run going for over 24 h yellow and an old run uncoloured', async () => {
    const store = await openSummary()
    const later = Math.floor(Date.now() / 1000) + 25 * 3600
    const shifted = await startWebServer({ reader: store, port: 0, now: () => later })
    try {
      const sites = await store.sites()
      await page.goto(shifted.url)
      await page.waitForSelector('body[data-ready]')
      const rows = await tableRows(page)
      for (const s of sites)
        expect(rows.find((r) => r.site === s.site)?.colour, s.site).toBe(siteState(s, later).colour)
      const colour = (site: string) => rows.find((r) => r.site === site)?.colour
      expect(colour('T2_RU_JINR')).toBe('yellow')
      expect(colour('T2_CH_CERN')).toBe('none')
      expect(colour('T2_IT_Pisa')).toBe('red')
      expect(colour('T2_ES_CIEMAT')).toBe('blue')
      await screenshot(page, 'web-summary-a-day-later')
    } finally {
      await shifted.close()
      await store.close()
    }
  })

  it('reads ages on the server clock, whatever the browser clock says', async () => {
    const sites = await storeSites()
    const ahead = await browser.newPage()
    try {
      await ahead.clock.install({ time: Date.now() + 25 * 3600 * 1000 })
      await ahead.goto(url)
      await ahead.waitForSelector('body[data-ready]')
      const now = Number(await ahead.getAttribute('body', 'data-now'))
      const rows = await tableRows(ahead)
      for (const s of sites) {
        const row = rows.find((r) => r.site === s.site)
        expect(row?.colour, s.site).toBe(siteState(s, now).colour)
        if (s.last) expect(row?.cells.time?.text, s.site).toBe(formatAge(s.last.time, now))
      }
    } finally {
      await ahead.close()
    }
  })

  it('refreshes itself when a new run lands', async () => {
    await page.goto(url)
    await page.waitForSelector('body[data-ready]')
    // a dry site: the orphans of its earlier runs were not sent for deletion, so none is vetoed now
    const before = (await storeSites()).find((s) => s.site === 'T2_DE_DESY')?.last as RunStats
    writeFile(path.join(storageOf('T2_DE_DESY'), lfn('T2_DE_DESY', 'dark', 100)), 4242)
    checkRun('T2_DE_DESY')
    const want = formatCount(before.orphan + 1)
    await expect
      .poll(async () => (await tableRows(page)).find((r) => r.site === 'T2_DE_DESY')?.cells.orphan?.text, {
        timeout: 20_000,
      })
      .toBe(want)
    expect(page.url()).toBe(url)
  })
})

describe('the static export (web install)', () => {
  let staticServer: http.Server
  let base: string

  beforeAll(async () => {
    const r = cli(['web', 'install', '--config', configFile])
    expect(r.code, r.stderr).toBe(0)
    const root = path.join(dir, 'www')
    // any web server: files by path, nothing else
    staticServer = http.createServer((req, res) => {
      const name = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname)
      const file = path.join(root, name.endsWith('/') ? `${name}index.html` : name)
      if (!file.startsWith(root) || !fs.existsSync(file) || !fs.statSync(file).isFile()) {
        res.statusCode = 404
        res.end()
        return
      }
      const types: Record<string, string> = {
        '.html': 'text/html',
        '.js': 'text/javascript',
        '.css': 'text/css',
        '.json': 'application/json',
      }
      res.setHeader('Content-Type', types[path.extname(file)] ?? 'text/plain')
      fs.createReadStream(file).pipe(res)
    })
    await new Promise<void>((r) => staticServer.listen(0, '127.0.0.1', r))
    base = `http://127.0.0.1:${(staticServer.address() as AddressInfo).port}/`
  })

  afterAll(async () => {
    await new Promise((r) => staticServer?.close(r))
  })

  it('is the same page, served by a plain file server', async () => {
    const sites = await storeSites()
    await page.goto(base)
    await page.waitForSelector('body[data-ready]')
    const rows = await tableRows(page)
    expect(rows.map((r) => r.site).sort()).toEqual(sites.map((s) => s.site).sort())
    expect(await page.locator('#sites img').count()).toBe(0)
    await page.click('th[data-key="files"]')
    expect((await tableRows(page))[0]?.site).toBe(
      [...sites]
        .filter((s) => s.last)
        .sort((a, b) => (b.last as RunStats).files - (a.last as RunStats).files || bySiteName(a.site, b.site))[0]?.site,
    )
    await screenshot(page, 'web-static-summary')
    // the odd name's page, its plot and its log
    await page.locator('#sites td.site a', { hasText: XSS_SITE }).click()
    await page.waitForSelector('body[data-ready]')
    const runs = await storeHistory(XSS_SITE)
    await page.waitForSelector(`figure[data-chart="missing-orphan"][data-drawn="${runs.length}"]`)
    expect(
      await colouredPixels(page, 'figure[data-chart="missing-orphan"] canvas', [0x8e, 0x44, 0xad]),
    ).toBeGreaterThan(0)
    const log = await page.getAttribute('a:text("log of the last run")', 'href')
    expect((await get(new URL(log as string, page.url()).href)).body).toContain('recorded')
    const doc = JSON.parse((await get(`${base}api/sites.json`)).body)
    expect(doc.sites.length).toBe(sites.length)
  })

  it('turns its greens when seen a day later, as a page made then would have them', async () => {
    const sites = await storeSites()
    const later = Math.floor(Date.now() / 1000) + 25 * 3600
    const ahead = await browser.newPage()
    try {
      await ahead.clock.install({ time: later * 1000 })
      await ahead.goto(base)
      await ahead.waitForSelector('body[data-ready]')
      const rows = await tableRows(ahead)
      for (const s of sites) {
        const row = rows.find((r) => r.site === s.site)
        expect(row?.colour, s.site).toBe(siteState(s, later).colour)
        if (s.last) expect(row?.cells.time?.text, s.site).toBe(formatAge(s.last.time, later))
      }
      expect(rows.find((r) => r.site === 'T2_RU_JINR')?.colour).toBe('yellow')
    } finally {
      await ahead.close()
    }
  })
})

describe('a page over a store that is not there yet', () => {
  it('is a one-line error, and creates nothing', () => {
    const dir = tempDir('web-no-store')
    const file = path.join(dir, 'config.json')
    const store = path.join(dir, 'var', 'summary.db')
    fs.writeFileSync(file, JSON.stringify({ VarLocation: path.join(dir, 'var'), WebDir: path.join(dir, 'www') }))
    for (const args of [
      ['web', 'install', '--config', file],
      ['web', 'serve', '--port', '0', '--config', file],
    ]) {
      const r = cli(args)
      expect(r.code).toBe(1)
      expect(r.stderr.trim().split('\n')).toHaveLength(1)
      expect(r.stderr).toMatch(/no summary store here yet/)
    }
    expect(fs.existsSync(store)).toBe(false)
    expect(fs.existsSync(path.join(dir, 'var'))).toBe(false)
  })
})
