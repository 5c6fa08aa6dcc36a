/**
 * `web install`: the pages, their JSON, the metrics, the logs, the running
 * configuration and the assets written into WebDir beside the result lists
 * the check writes there, so that any web server can serve the directory.
 * Each file is written to a temporary name and renamed, so a server never
 * sends half a page.
 */
import * as fs from 'node:fs'
import * as path from 'node:path'
import type { SummaryReader } from '../summary/types'
import { now } from '../time'
import { historyDocument, sitesDocument } from './api'
import { asset, assetNames } from './assets'
import { latestLog, runningConfiguration } from './files'
import { siteFileName } from './html'
import { lastGoodRuns, metricsText } from './metrics'
import { sitePage } from './site-page'
import { summaryPage } from './summary-page'

export interface InstallOptions {
  reader: SummaryReader
  /** The directory (WebDir). */
  dir: string
  /** Seconds between the pages' refreshes of themselves. @default 60 */
  refresh?: number
  /** Unix seconds. @default now */
  now?: number
}

export interface InstallReport {
  dir: string
  sites: number
  /** Files written, relative to `dir`. */
  files: string[]
}

function writeAtomic(file: string, body: string | Buffer): void {
  fs.mkdirSync(path.dirname(file), { recursive: true })
  const tmp = `${file}.${process.pid}.tmp`
  fs.writeFileSync(tmp, body)
  fs.renameSync(tmp, file)
}

export async function installWeb(options: InstallOptions): Promise<InstallReport> {
  const { reader, dir } = options
  const at = options.now ?? now()
  const pageOptions = { now: at, refresh: options.refresh ?? 60 }
  const files: string[] = []
  const write = (name: string, body: string | Buffer) => {
    writeAtomic(path.join(dir, name), body)
    files.push(name)
  }
  for (const name of assetNames())
    write(path.join('assets', name), (asset(name) as NonNullable<ReturnType<typeof asset>>).body)
  const sites = await reader.sites()
  for (const site of sites) {
    const name = siteFileName(site.site)
    const runs = await reader.history(site.site)
    write(path.join('sites', `${name}.html`), sitePage(site, runs, pageOptions))
    write(path.join('api', 'sites', name, 'history.json'), JSON.stringify(historyDocument(site.site, runs)))
    const log = latestLog(site.site)
    if (log) write(path.join('logs', `${name}.log`), fs.readFileSync(log))
  }
  write(path.join('api', 'sites.json'), JSON.stringify(sitesDocument(sites, at)))
  write('metrics.txt', metricsText(sites, at, await lastGoodRuns(reader, sites)))
  write('config.json', runningConfiguration())
  // the summary page last: it links to everything above
  write('index.html', summaryPage(sites, pageOptions))
  return { dir, sites: sites.length, files }
}
