/** Helpers of the web page tests: the test browser, screenshots, and an in-memory summary store for rendering tests. */
import * as fs from 'node:fs'
import * as path from 'node:path'
import { type BrowserContext, chromium, type Page } from 'playwright-core'
import type { RunStats, SiteSummary, SummaryReader } from '../../src/summary/types'
import { ROOT, tempDir } from './cli'

export const CHROMIUM = '/usr/bin/chromium'
export const ARTIFACTS = path.join(ROOT, 'test-artifacts')

/** Headless Chromium with no background traffic and a fresh profile. */
export async function launchBrowser(label: string): Promise<BrowserContext> {
  return chromium.launchPersistentContext(tempDir(`${label}-profile`), {
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
}

/** Save a full-page screenshot under test-artifacts/. */
export async function screenshot(page: Page, name: string): Promise<string> {
  fs.mkdirSync(ARTIFACTS, { recursive: true })
  const file = path.join(ARTIFACTS, `${name}.png`)
  await page.screenshot({ path: file, fullPage: true })
  return file
}

/** A run's figures: zeros, with `time` and the given figures. */
export function run(site: string, time: number, figures: Partial<RunStats> = {}): RunStats {
  return {
    site,
    time,
    files: 0,
    nodes: 0,
    empty: 0,
    missing: 0,
    missingSize: 0,
    orphan: 0,
    orphanSize: 0,
    nosource: 0,
    unrecoverable: 0,
    unlisted: 0,
    unlistedBad: 0,
    duration: 0,
    threads: 4,
    unmerged: 0,
    unmergedSize: 0,
    heldBack: null,
    ...figures,
  }
}

/**
 * A summary store in memory, for tests of rendering alone (the tests of
 * the page as served read a store filled by real check runs).
 */
export class MemoryReader implements SummaryReader {
  constructor(
    readonly summaries: SiteSummary[],
    readonly runs: Map<string, RunStats[]> = new Map(),
  ) {}

  async sites(): Promise<SiteSummary[]> {
    return this.summaries.map((s) => ({ ...s, last: this.runs.get(s.site)?.at(-1) ?? s.last }))
  }

  async history(site: string): Promise<RunStats[]> {
    return this.runs.get(site) ?? []
  }

  async close(): Promise<void> {}
}

/** Pixels of a canvas that are drawn (not transparent), counted in the page. */
export async function drawnPixels(page: Page, selector: string): Promise<number[]> {
  return page.$$eval(selector, (canvases) =>
    (canvases as HTMLCanvasElement[]).map((c) => {
      const ctx = c.getContext('2d')
      if (!ctx || c.width === 0 || c.height === 0) return 0
      const data = ctx.getImageData(0, 0, c.width, c.height).data
      let n = 0
      for (let i = 3; i < data.length; i += 4) if ((data[i] as number) > 0) n++
      return n
    }),
  )
}

/** Pixels of the first canvas matching `selector` close to a colour (a plotted line, not the axes or the grid). */
export async function colouredPixels(page: Page, selector: string, rgb: [number, number, number]): Promise<number> {
  return page.$eval(
    selector,
    (c, want) => {
      const canvas = c as HTMLCanvasElement
      const ctx = canvas.getContext('2d')
      if (!ctx || canvas.width === 0 || canvas.height === 0) return 0
      const data = ctx.getImageData(0, 0, canvas.width, canvas.height).data
      let n = 0
      for (let i = 0; i < data.length; i += 4) {
        const close =
          Math.abs((data[i] as number) - want[0]) < 24 &&
          Math.abs((data[i + 1] as number) - want[1]) < 24 &&
          Math.abs((data[i + 2] as number) - want[2]) < 24
        if (close && (data[i + 3] as number) > 200) n++
      }
      return n
    },
    rgb,
  )
}
