/** The check fixture site (`__test__/fixtures/check-site`) materialised for a test. */
import * as fs from 'node:fs'
import * as path from 'node:path'
import type { Sql } from '../../src/backends/sql'
import { tempDir, writeFile } from './cli'

export const FIXTURE = path.resolve(__dirname, '..', 'fixtures', 'check-site')
export const SITE = 'T2_US_MIT'
export const EMPTY_DIR = '/store/mc/RunIISummer20UL18/Empty_TuneCP5/AODSIM/106X-v1/10000/sub'

export interface InventoryRow {
  site: string
  lfn: string
  size: number
  block: string
  group: string
  complete: boolean
}

function fixtureLines(name: string): string[] {
  return fs
    .readFileSync(path.join(FIXTURE, name), 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '' && !l.startsWith('#'))
}

export function inventoryRows(): InventoryRow[] {
  return fixtureLines('inventory.txt').map((line) => {
    const [site, lfn, size, block, group, complete] = line.split('|') as [
      string,
      string,
      string,
      string,
      string,
      string,
    ]
    return { site, lfn, size: Number(size), block, group, complete: complete === '1' }
  })
}

/** Insert fixture rows into the embedded inventory's `replicas`. */
export async function insertReplicas(db: Sql, rows: readonly InventoryRow[]): Promise<void> {
  for (const r of rows) {
    await db.run('INSERT INTO replicas (site, lfn, size, block, grp, complete) VALUES (?, ?, ?, ?, ?, ?)', [
      r.site,
      r.lfn,
      r.size,
      r.block,
      r.group,
      r.complete ? 1 : 0,
    ])
  }
}

/** A short name for a fixture LFN: its file name. */
export const short = (lfn: string) => path.posix.basename(lfn)

export interface SiteSetup {
  dir: string
  storage: string
  config: string
  web: string
  var: string
}

/** Create the storage tree and a configuration file; `extra` keys are merged in. */
export function makeSite(label: string, extra: Record<string, unknown> = {}): SiteSetup {
  const dir = tempDir(label)
  const storage = path.join(dir, 'storage')
  for (const line of fixtureLines('storage.txt')) {
    const [lfn, size] = line.split('|') as [string, string]
    writeFile(path.join(storage, lfn), Number(size))
  }
  fs.mkdirSync(path.join(storage, EMPTY_DIR), { recursive: true })
  // directories old enough to be called empty
  const old = 1_500_000_000
  for (let d = path.join(storage, EMPTY_DIR); d.startsWith(path.join(storage, 'store')); d = path.dirname(d)) {
    fs.utimesSync(d, old, old)
  }
  const web = path.join(dir, 'www')
  const varDir = path.join(dir, 'var')
  const config = path.join(dir, 'config.json')
  fs.writeFileSync(
    config,
    JSON.stringify(
      {
        VarLocation: varDir,
        WebDir: web,
        AccessMethod: { [SITE]: `local:${storage}` },
        IgnoreDirectories: ['/ignored/'],
        IgnoreAge: 1,
        NumThreads: 2,
        ...extra,
      },
      null,
      2,
    ),
  )
  return { dir, storage, config, web, var: varDir }
}
