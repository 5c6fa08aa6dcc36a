// Web page benchmark: a SQLite summary store of 500 sites with 30 runs each
// (5 with --quick), served by `web serve`'s server in this process.
//
// 1. The API: `GET /api/sites` (and the page's HTML, /metrics, one site's
//    history) over loopback HTTP, against the reference of reading the same
//    sites from the store directly (`SummaryStore.sites()`), same run.
// 2. The page in the test browser (headless Debian Chromium): from
//    navigation start until the table of 500 sites is laid out, sorted and
//    filtered by its script (`performance.mark('dc-ready')`), beside the
//    browser's own first contentful paint and DOMContentLoaded of the same
//    page; then one sort of the 500 rows by a click, and a site page with
//    its plots.
//
// Standalone: node bench/web.mjs [--quick] [--sites N]
import * as fs from 'node:fs'
import { createRequire } from 'node:module'
import * as os from 'node:os'
import * as path from 'node:path'
import { fileURLToPath } from 'node:url'
import { fmt, ROOT, table } from './lib.mjs'

const require = createRequire(import.meta.url)
const CHROMIUM = '/usr/bin/chromium'
const STATUSES = ['ready', 'ready', 'ready', 'ready', 'running', 'locked', 'halt', 'disabled']

function rng(seed) {
  let s = BigInt(seed)
  return () => {
    s = (s * 6364136223846793005n + 1442695040888963407n) & 0xffffffffffffffffn
    return Number(s >> 33n) / 2 ** 31
  }
}

/** Fill a summary store with `sites` sites of `runs` runs each, ending now. */
export async function fill(store, sites, runs) {
  const r = rng(7)
  const now = Math.floor(Date.now() / 1000)
  const names = Array.from(
    { length: sites },
    (_, i) => `T${1 + (i % 3)}_${['US', 'DE', 'IT', 'FR', 'UK', 'CH'][i % 6]}_Site${i}`,
  )
  await store.addSites(names)
  for (const [i, site] of names.entries()) {
    const files = Math.floor(1e5 + r() * 5e7)
    for (let k = 0; k < runs; k++) {
      const time = now - (runs - k) * 86_400 + Math.floor(r() * 3600)
      const missing = Math.floor(r() * r() * 3000)
      const orphan = Math.floor(r() * r() * 20000)
      const stats = {
        site,
        time,
        files: files + k * 1000,
        nodes: Math.floor(files / 40),
        empty: Math.floor(r() * 200),
        missing,
        missingSize: missing * 2.5e9,
        orphan,
        orphanSize: orphan * 3e9,
        nosource: Math.floor(missing * r() * 0.1),
        unrecoverable: r() < 0.05 ? 1 : 0,
        unlisted: Math.floor(r() * 3),
        unlistedBad: r() < 0.03 ? 1 : 0,
        duration: 3600 + r() * 80000,
        threads: 4,
        unmerged: 0,
        unmergedSize: 0,
        heldBack: missing > 1000 ? `${missing} missing files exceed MaxMissing 1000` : null,
      }
      await store.recordRun(stats, time - stats.duration, {}, { maxMissing: 1000, maxOrphan: 5000 })
    }
    const status = STATUSES[i % STATUSES.length]
    if (status === 'halt' || status === 'disabled') await store.setStatus(site, status === 'halt' ? 'halt' : 'disable')
    if (i % 2) await store.setStatus(site, 'act')
    if (status === 'running' || status === 'locked') {
      const worker = { host: 'bench-worker', pid: 1, owner: 'bench-worker', leaseSeconds: 86_400 }
      await store.pick(new RegExp(`^${site}$`), async () => true, worker)
      if (status === 'running') await store.markRunning(site, worker.owner)
    }
  }
  return names
}

async function timeIt(n, fn) {
  for (let i = 0; i < Math.min(5, n); i++) await fn()
  const ms = []
  for (let i = 0; i < n; i++) {
    const t0 = process.hrtime.bigint()
    await fn()
    ms.push(Number(process.hrtime.bigint() - t0) / 1e6)
  }
  ms.sort((a, b) => a - b)
  return { median: ms[Math.floor(ms.length / 2)], p95: ms[Math.min(ms.length - 1, Math.floor(ms.length * 0.95))] }
}

export async function run({ quick = false, sites = 500 } = {}) {
  const { openSummary } = require(path.join(ROOT, 'dist', 'summary', 'store.js'))
  const { startWebServer } = require(path.join(ROOT, 'dist', 'web', 'server.js'))
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dc-bench-web-'))
  const runs = quick ? 5 : 30
  const store = await openSummary(path.join(dir, 'summary.db'))
  const t0 = Date.now()
  const names = await fill(store, sites, runs)
  const fillSeconds = (Date.now() - t0) / 1000
  const server = await startWebServer({ reader: store, port: 0 })
  const rows = []
  try {
    const get = async (p) => {
      const r = await fetch(new URL(p, server.url))
      const body = await r.arrayBuffer()
      if (r.status !== 200) throw new Error(`${p}: HTTP ${r.status}`)
      return body.byteLength
    }
    const n = quick ? 20 : 100
    const direct = await timeIt(n, () => store.sites())
    rows.push({
      what: `store.sites() (reference), ${sites} sites`,
      'median ms': fmt(direct.median),
      'p95 ms': fmt(direct.p95),
      bytes: '',
    })
    for (const p of ['api/sites', 'index.html', 'metrics', `api/sites/${names[1]}/history`]) {
      const size = await get(p)
      const t = await timeIt(n, () => get(p))
      rows.push({
        what: `GET /${p.replace(names[1], 'SITE')}`,
        'median ms': fmt(t.median),
        'p95 ms': fmt(t.p95),
        bytes: size,
      })
    }

    let browserRows = []
    if (fs.existsSync(CHROMIUM)) {
      const { chromium } = require('playwright-core')
      const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'dc-bench-web-profile-'))
      const context = await chromium.launchPersistentContext(profile, {
        executablePath: CHROMIUM,
        headless: true,
        args: [
          '--no-sandbox',
          '--disable-gpu',
          '--disable-quic',
          '--no-first-run',
          '--disable-background-networking',
          '--disable-component-update',
          '--disable-sync',
        ],
        viewport: { width: 1600, height: 1000 },
      })
      try {
        const page = await context.newPage()
        const loads = []
        for (let i = 0; i < (quick ? 3 : 7); i++) {
          await page.goto(`${server.url}?load=${i}`)
          await page.waitForSelector('body[data-ready]')
          loads.push(
            await page.evaluate(() => ({
              ready: performance.getEntriesByName('dc-ready')[0]?.startTime ?? Number.NaN,
              dom: performance.getEntriesByType('navigation')[0]?.domContentLoadedEventEnd ?? Number.NaN,
              paint: performance.getEntriesByName('first-contentful-paint')[0]?.startTime ?? Number.NaN,
              rows: document.querySelectorAll('#sites tbody.site').length,
            })),
          )
        }
        if (loads.some((l) => l.rows !== sites)) throw new Error(`the page shows ${loads[0]?.rows} sites, not ${sites}`)
        const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]
        const sortMs = []
        for (const key of ['missing', 'files', 'site', 'orphan', 'time']) {
          sortMs.push(
            await page.evaluate((k) => {
              const t = performance.now()
              document.querySelector(`th[data-key="${k}"]`).click()
              document.body.offsetHeight
              return performance.now() - t
            }, key),
          )
        }
        await page.goto(`${server.url}sites/${names[1]}.html`)
        await page.waitForSelector(`figure[data-chart="files"][data-drawn="${runs}"]`)
        const siteReady = await page.evaluate(
          () => performance.getEntriesByName('dc-ready')[0]?.startTime ?? Number.NaN,
        )
        browserRows = [
          {
            what: `summary page, ${sites} sites: ready (table laid out, sorted, filtered)`,
            ms: fmt(median(loads.map((l) => l.ready)), 0),
          },
          { what: 'same page: first contentful paint (reference)', ms: fmt(median(loads.map((l) => l.paint)), 0) },
          { what: 'same page: DOMContentLoaded (reference)', ms: fmt(median(loads.map((l) => l.dom)), 0) },
          { what: `one sort of ${sites} rows by a click (median of 5 columns)`, ms: fmt(median(sortMs), 1) },
          { what: `site page with ${runs} runs: 6 plots drawn`, ms: fmt(siteReady, 0) },
        ]
      } finally {
        await context.close()
        fs.rmSync(profile, { recursive: true, force: true })
      }
    }
    const markdown = [
      `${sites} sites, ${runs} runs each (store filled in ${fmt(fillSeconds, 1)} s), SQLite summary store, loopback HTTP, ${os.cpus().length} cores (${os.cpus()[0]?.model ?? ''}).`,
      '',
      table(rows),
      '',
      browserRows.length ? table(browserRows) : `(no ${CHROMIUM}: browser figures skipped)`,
    ].join('\n')
    return { markdown, rows, browserRows }
  } finally {
    await server.close()
    await store.close()
    fs.rmSync(dir, { recursive: true, force: true })
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const args = process.argv.slice(2)
  const sitesArg = args.indexOf('--sites')
  const result = await run({ quick: args.includes('--quick'), sites: sitesArg >= 0 ? Number(args[sitesArg + 1]) : 500 })
  console.log(result.markdown)
}
