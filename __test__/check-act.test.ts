/**
 * What the check acts on, and when, at a site marked `act` (embedded
 * back end, the site's storage a local directory tree): names are bytes
 * from storage to registry, every list is escaped and written whole,
 * deletions wait for confirmation over runs, a size mismatch is never
 * deleted in the run that finds it, the original's protections hold, and
 * transfers start from ready sites.
 */
import * as fs from 'node:fs'
import * as path from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { EmbeddedBackend, openEmbeddedDatabase, type SqliteSql } from '../src/backends'
import { runCheck } from '../src/check'
import { config } from '../src/config'
import { type Lfn, lfnBytes, lfnFromBytes, lfnFromColumn, lfnFromText } from '../src/lfn'
import { openSummary } from '../src/summary/store'
import { makeSite, SITE, type SiteSetup } from './helpers/check-site'
import { cli } from './helpers/cli'

const OLD = 1_500_000_000
const DIR = '/store/mc/RunIISummer20UL18/Act_TuneCP5/AODSIM/106X_upgrade2018-v2/10000'
const KEEP = `${DIR}/KEEP.root`
/** An orphan in a dataset the site holds nothing of. */
const DARK_DIR = '/store/mc/RunIISummer20UL18/Dark_TuneCP5/AODSIM/106X_upgrade2018-v2/10000'
const DARK = `${DARK_DIR}/DARK.root`

const bytes = (...parts: (string | number[])[]) =>
  Buffer.concat(parts.map((p) => (typeof p === 'string' ? Buffer.from(p, 'utf8') : Buffer.from(p))))

let site: SiteSetup
let db: SqliteSql

function configure(extra: Record<string, unknown> = {}): void {
  const text = JSON.parse(fs.readFileSync(site.config, 'utf8'))
  fs.writeFileSync(site.config, JSON.stringify({ ...text, ...extra }))
  config.setLocation(site.config)
}

/** A file on storage; `lfn` as bytes or text. */
function onStorage(lfn: Buffer | string, size: number, mtime = OLD): void {
  const p = Buffer.concat([Buffer.from(site.storage), typeof lfn === 'string' ? Buffer.from(lfn) : lfn])
  fs.mkdirSync(p.subarray(0, p.lastIndexOf(0x2f)), { recursive: true })
  fs.writeFileSync(p, Buffer.alloc(size, 120))
  fs.utimesSync(p, mtime, mtime)
}

async function inInventory(
  lfn: Buffer | string,
  size: number,
  options: { site?: string; group?: string; complete?: boolean } = {},
) {
  await db.run('INSERT INTO replicas (site, lfn, size, block, grp, complete) VALUES (?, ?, ?, ?, ?, ?)', [
    options.site ?? SITE,
    lfn,
    size,
    '',
    options.group ?? 'DataOps',
    (options.complete ?? true) ? 1 : 0,
  ])
}

async function check(extra: Partial<Parameters<typeof runCheck>[0]> = {}) {
  const backend = new EmbeddedBackend(openEmbeddedDatabase())
  try {
    const report = await runCheck({ site: SITE, backend, haltPollSeconds: 0.1, ...extra })
    if (!report) throw new Error('no site picked')
    return report
  } finally {
    await backend.close()
  }
}

/** The deletion requests, as bytes. */
async function deletions(): Promise<Lfn[]> {
  const rows = await db.all<{ file: unknown }>('SELECT file FROM deletion_queue WHERE site = ? ORDER BY file', [SITE])
  return rows.map((r) => lfnFromColumn(r.file))
}

async function transferRows(): Promise<[Lfn, string][]> {
  const rows = await db.all<{ file: unknown; site_from: string }>(
    'SELECT file, site_from FROM transfer_queue WHERE site_to = ? ORDER BY file, site_from',
    [SITE],
  )
  return rows.map((r) => [lfnFromColumn(r.file), r.site_from])
}

beforeEach(async () => {
  // a site with no files but ours: the storage made by makeSite is replaced
  site = makeSite('act')
  fs.rmSync(path.join(site.storage, 'store'), { recursive: true, force: true })
  configure({ RootPath: '/store', DirectoryList: ['mc'] })
  db = openEmbeddedDatabase()
  await db.run('INSERT INTO sites (name) VALUES (?)', [SITE])
  // one file the inventory and storage agree on, so that /store/mc is listed
  onStorage(KEEP, 10)
  await inInventory(KEEP, 10)
  const store = await openSummary()
  await store.setStatus(SITE, 'act')
  await store.close()
})

afterEach(async () => {
  await db.close()
  config.setLocation(null)
})

describe('names are bytes, end to end', () => {
  it('requests deletion of the non-UTF-8 orphan, never of its look-alike in the inventory', async () => {
    configure({ OrphanConfirmRuns: 1 })
    // /…/<0xff>proc/1.root on storage only; /…/<U+FFFD>proc/1.root on both
    const base = '/store/mc/RunIISummer20UL18/Bytes_TuneCP5/AODSIM/'
    const dark = bytes(base, [0xff], 'proc/10000/1.root')
    const lookAlike = bytes(base, '\ufffdproc/10000/1.root')
    onStorage(dark, 7)
    onStorage(lookAlike, 8)
    await inInventory(lookAlike, 8)
    const report = await check()
    expect(report.orphan).toEqual([lfnFromBytes(dark)])
    expect(report.missing).toEqual([])
    expect(await deletions()).toEqual([lfnFromBytes(dark)])
    // the orphan list holds the exact bytes
    const list = fs.readFileSync(report.outputs.orphan)
    expect(list.equals(Buffer.concat([dark, Buffer.from('\n')]))).toBe(true)
  })

  it('requests removal of the non-UTF-8 empty directory, never of its look-alike that holds files', async () => {
    configure({ OrphanConfirmRuns: 1 })
    const base = '/store/mc/RunIISummer20UL18/Bytes_TuneCP5/AODSIM/'
    const emptyDir = bytes(base, [0xff], 'empty')
    const full = bytes(base, '\ufffdempty')
    const inFull = Buffer.concat([full, Buffer.from('/10000/F.root')])
    onStorage(inFull, 5)
    await inInventory(inFull, 5)
    const dir = Buffer.concat([Buffer.from(site.storage), emptyDir])
    fs.mkdirSync(dir, { recursive: true })
    fs.utimesSync(dir, OLD, OLD)
    const report = await check()
    expect(report.empty).toEqual([lfnFromBytes(emptyDir)])
    expect(await deletions()).toEqual([lfnFromBytes(emptyDir)])
  })

  it('writes an empty directory whose name holds a newline as one escaped line', async () => {
    const evil = `${DIR}/x\n/store/mc/keep`
    const dir = path.join(site.storage, evil)
    fs.mkdirSync(dir, { recursive: true })
    fs.utimesSync(dir, OLD, OLD)
    const report = await check()
    expect(report.empty).toEqual([lfnFromText(evil)])
    const text = fs.readFileSync(report.outputs.empty, 'utf8')
    expect(text).toBe(`${DIR}/x\\n/store/mc/keep\n`)
    expect(text.split('\n')).not.toContain('/store/mc/keep')
  })

  it('refuses a storage dump with a NUL byte in a name, naming the file and line, and writes nothing', async () => {
    const dump = path.join(site.dir, 'dump.txt')
    fs.writeFileSync(
      dump,
      Buffer.concat([
        Buffer.from(`${KEEP}|10|${OLD}\n/store/mc/y/dark`),
        Buffer.from([0]),
        Buffer.from(`one.root|3|${OLD}\n`),
      ]),
    )
    configure({ AccessMethod: { [SITE]: `dump:${dump}` } })
    await expect(check()).rejects.toThrow(/dump\.txt:2: a NUL byte/)
    expect(await deletions()).toEqual([])
    expect(fs.existsSync(path.join(site.web, `${SITE}_compare_orphan.txt`))).toBe(false)
    const r = cli(['compare', dump, dump, '--output', path.join(site.dir, 'out')])
    expect(r.code).toBe(1)
    expect(r.stderr).toMatch(/dump\.txt:2: a NUL byte/)
    expect(fs.existsSync(path.join(site.dir, 'out_missing.txt'))).toBe(false)
  })

  it('keeps the previous list whole when a new one cannot be written', async () => {
    onStorage(DARK, 9)
    const first = await check()
    const before = fs.readFileSync(first.outputs.orphan)
    expect(before.toString()).toBe(`${DARK}\n`)
    // the temporary file of the next write cannot be made: a directory is in its way
    const blocker = path.join(site.web, `.${SITE}_compare_orphan.txt.tmp.${process.pid}`)
    fs.mkdirSync(blocker)
    onStorage(`${DARK_DIR}/DARK2.root`, 9)
    await expect(check()).rejects.toThrow(/_compare_orphan\.txt/)
    expect(fs.readFileSync(first.outputs.orphan).equals(before)).toBe(true)
    fs.rmdirSync(blocker)
  })
})

describe('deletions only when sure', () => {
  it('requests deletion of an orphan only once it was found in OrphanConfirmRuns runs', async () => {
    onStorage(DARK, 9)
    const first = await check()
    expect(first.orphan).toEqual([DARK])
    expect(first.deletable.orphan).toEqual([])
    expect(first.requested.deletions).toBe(0)
    expect(await deletions()).toEqual([])
    const second = await check()
    expect(second.deletable.orphan).toEqual([DARK])
    expect(await deletions()).toEqual([DARK])
  })

  it('requires the first confirming run to lie OrphanConfirmDays back', async () => {
    configure({ OrphanConfirmDays: 1 })
    onStorage(DARK, 9)
    await check()
    const second = await check()
    expect(second.deletable.orphan).toEqual([])
    expect(await deletions()).toEqual([])
    // the runs so far, two days earlier
    const store = await openSummary()
    await store.db.run('UPDATE site_runs SET time = time - 2 * 86400 WHERE site = ?', [SITE])
    await store.close()
    const third = await check()
    expect(third.deletable.orphan).toEqual([DARK])
    expect(await deletions()).toEqual([DARK])
  })

  it('never deletes a file rewritten in place in the run that sees it, and deletes a mismatch seen twice the same', async () => {
    const rewritten = `${DIR}/REWRITTEN.root`
    // the inventory holds it with 1000 bytes; storage shows 0 bytes at the old mtime (O_TRUNC)
    await inInventory(rewritten, 1000)
    onStorage(rewritten, 0)
    await db.run(`INSERT INTO sites (name) VALUES ('T1_US_FNAL_Disk')`)
    await inInventory(rewritten, 1000, { site: 'T1_US_FNAL_Disk' })
    configure({ OrphanConfirmRuns: 1 })
    const first = await check()
    expect(first.missing).toEqual([rewritten])
    expect(first.orphan).toEqual([rewritten])
    expect(first.sizeMismatch).toEqual([{ lfn: rewritten, size: 0, inventorySize: 1000 }])
    expect(fs.readFileSync(first.outputs.sizeMismatch, 'utf8')).toBe(`${rewritten}|0|1000\n`)
    expect(first.deletable.orphan).toEqual([])
    expect(await deletions()).toEqual([])
    // the same mismatch in the next run: the storage copy goes, and a good one is asked for
    const second = await check()
    expect(second.deletable.orphan).toEqual([rewritten])
    expect(await deletions()).toEqual([rewritten])
    expect(await transferRows()).toEqual([[rewritten, 'T1_US_FNAL_Disk']])
    // our own deletion request does not hide the file from the missing list
    const third = await check()
    expect(third.missing).toEqual([rewritten])
  })

  it('never deletes a size mismatch of a dataset protected whatever the site holds', async () => {
    const kept = '/store/mc/RunIISummer20UL18/Ignored_TuneCP5/AODSIM/106X_upgrade2018-v2/10000/K.root'
    await inInventory(kept, 1000)
    onStorage(kept, 0)
    await db.run(`INSERT INTO protected_datasets (site, dataset) VALUES ('*', ?)`, [
      '/Ignored_TuneCP5/RunIISummer20UL18-106X_upgrade2018-v2/AODSIM',
    ])
    configure({ OrphanConfirmRuns: 1 })
    await check()
    const second = await check()
    expect(second.missing).toEqual([kept])
    expect(second.orphan).toEqual([])
    expect(await deletions()).toEqual([])
  })

  it('confirms orphans of a listing that gives no sizes', async () => {
    const dump = path.join(site.dir, 'dump.txt')
    fs.writeFileSync(dump, `${KEEP}\n${DARK}\n`)
    fs.utimesSync(dump, OLD + 10 ** 8, OLD + 10 ** 8)
    configure({ AccessMethod: { [SITE]: `dump:${dump}` } })
    const first = await check()
    expect(first.orphan).toEqual([DARK])
    expect(first.deletable.orphan).toEqual([])
    const second = await check()
    expect(second.deletable.orphan).toEqual([DARK])
    expect(await deletions()).toEqual([DARK])
  })

  it('asks nothing of a site set to dry, or taken by another worker, after it was picked', async () => {
    configure({ OrphanConfirmRuns: 1 })
    onStorage(DARK, 9)
    const dry = await check({
      afterRemoteListing: async () => {
        const store = await openSummary()
        await store.setStatus(SITE, 'dry')
        await store.close()
      },
    })
    expect(dry.deletable.orphan).toEqual([DARK])
    expect(dry.requested).toEqual({ deletions: 0, transfers: 0 })
    expect(await deletions()).toEqual([])
    const store = await openSummary()
    await store.setStatus(SITE, 'act')
    await store.close()
    const taken = check({
      haltPollSeconds: 3600,
      afterRemoteListing: async () => {
        const s = await openSummary()
        await s.db.run(`UPDATE site_status SET lease_owner = 'elsewhere', lease_until = ? WHERE site = ?`, [
          Math.floor(Date.now() / 1000) + 600,
          SITE,
        ])
        await s.close()
      },
    })
    await expect(taken).rejects.toThrow(/lease/)
    expect(await deletions()).toEqual([])
  })

  it('does not delete a mismatch whose sizes changed between runs', async () => {
    const growing = `${DIR}/GROWING.root`
    await inInventory(growing, 1000)
    onStorage(growing, 0)
    configure({ OrphanConfirmRuns: 1 })
    await check()
    onStorage(growing, 500)
    const second = await check()
    expect(second.sizeMismatch).toEqual([{ lfn: growing, size: 500, inventorySize: 1000 }])
    expect(second.deletable.orphan).toEqual([])
    expect(await deletions()).toEqual([])
  })

  it('never deletes an orphan whose path the second inventory listing holds', async () => {
    const arriving = `${DARK_DIR}/ARRIVING.root`
    onStorage(arriving, 40)
    configure({ OrphanConfirmRuns: 1 })
    const report = await check({
      afterRemoteListing: () => inInventory(arriving, 41),
    })
    expect(report.deletable.orphan).toEqual([])
    expect(await deletions()).toEqual([])
  })

  it('protects what the original protects: datasets at the site, unreadable names, protected and deleting datasets', async () => {
    configure({ OrphanConfirmRuns: 1 })
    const atSite = `${DIR}/SAME_DATASET.root`
    const short = '/store/mc/short/O3.root'
    const ignoredDataset = '/store/mc/RunIISummer20UL18/Ignored_TuneCP5/AODSIM/106X_upgrade2018-v2/10000/I.root'
    const deletingDataset = '/store/mc/RunIISummer20UL18/Gone_TuneCP5/AODSIM/106X_upgrade2018-v2/10000/G.root'
    for (const lfn of [atSite, short, ignoredDataset, deletingDataset, DARK]) onStorage(lfn, 3)
    await db.run(`INSERT INTO protected_datasets (site, dataset) VALUES ('*', ?)`, [
      '/Ignored_TuneCP5/RunIISummer20UL18-106X_upgrade2018-v2/AODSIM',
    ])
    await db.run(`INSERT INTO deletion_requests (site, dataset) VALUES (?, ?)`, [
      SITE,
      '/Gone_TuneCP5/RunIISummer20UL18-106X_upgrade2018-v2/AODSIM',
    ])
    const report = await check()
    expect(report.orphan).toEqual([DARK])
    expect(await deletions()).toEqual([DARK])
    expect(fs.readFileSync(report.outputs.orphan, 'utf8')).toBe(`${DARK}\n`)
  })

  it('reports a missing file of a dataset being deleted as not missing', async () => {
    const gone = '/store/mc/RunIISummer20UL18/Gone_TuneCP5/AODSIM/106X_upgrade2018-v2/10000/G.root'
    await inInventory(gone, 3)
    await db.run(`INSERT INTO deletion_requests (site, dataset) VALUES (?, ?)`, [
      SITE,
      '/Gone_TuneCP5/RunIISummer20UL18-106X_upgrade2018-v2/AODSIM',
    ])
    const report = await check()
    expect(report.missing).toEqual([])
  })
})

describe('transfers', () => {
  it('start from ready sites with complete, owned copies: one request per source, tape when no disk copy', async () => {
    const onDisk = `${DIR}/ON_DISK.root`
    const onTape = `${DIR}/ON_TAPE.root`
    const nowhere = `${DIR}/NOWHERE.root`
    for (const lfn of [onDisk, onTape, nowhere]) await inInventory(lfn, 100)
    for (const [name, type, status] of [
      ['T1_A_Disk', 'disk', 'ready'],
      ['T1_B_Disk', 'disk', 'ready'],
      ['T2_WAITING', 'disk', 'waitroom'],
      ['T2_UNOWNED', 'disk', 'ready'],
      ['T1_A_MSS', 'mss', 'ready'],
    ] as const) {
      await db.run('INSERT INTO sites (name, storage_type, status) VALUES (?, ?, ?)', [name, type, status])
    }
    await inInventory(onDisk, 100, { site: 'T1_A_Disk' })
    await inInventory(onDisk, 100, { site: 'T1_B_Disk' })
    await inInventory(onDisk, 100, { site: 'T1_A_MSS' })
    await inInventory(onTape, 100, { site: 'T2_WAITING' })
    await inInventory(onTape, 100, { site: 'T2_UNOWNED', group: '' })
    await inInventory(onTape, 100, { site: 'T1_A_MSS' })
    await inInventory(nowhere, 100, { site: 'T2_WAITING' })
    const first = await check()
    expect(first.noSource).toEqual([nowhere, onTape])
    expect(first.unrecoverable).toEqual([nowhere])
    expect(await transferRows()).toEqual([])
    await check()
    expect(await transferRows()).toEqual([
      [onDisk, 'T1_A_Disk'],
      [onDisk, 'T1_B_Disk'],
      [onTape, 'T1_A_MSS'],
    ])
  })
})

describe('the second comparison', () => {
  it('runs when only a replica state changed between the two inventory listings', async () => {
    const lost = `${DIR}/LOST.root`
    await inInventory(lost, 100)
    const report = await check({
      // the replica became incomplete while the storage was listed: the file is young in the second listing
      afterRemoteListing: async () => {
        await db.run('UPDATE replicas SET complete = 0 WHERE site = ? AND lfn = ?', [SITE, lfnBytes(lfnFromText(lost))])
      },
    })
    expect(report.missing).toEqual([])
  })
})
