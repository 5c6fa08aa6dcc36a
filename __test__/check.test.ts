/**
 * The full check on the embedded SQLite back end and summary store, with
 * the site as a local directory tree.
 */
import { spawn } from 'node:child_process'
import * as fs from 'node:fs'
import * as path from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { EmbeddedBackend, ListingBackend, openEmbeddedDatabase, type SqliteSql } from '../src/backends'
import { HaltedError, runCheck } from '../src/check'
import { findUnmerged } from '../src/check/unmerged'
import { config } from '../src/config'
import { openSummary } from '../src/summary/store'
import { EMPTY_DIR, insertReplicas, inventoryRows, makeSite, SITE, type SiteSetup, short } from './helpers/check-site'
import { CLI, cli, lines, writeFile } from './helpers/cli'
import { DELETING, TAU_DELETION, transfers } from './helpers/dynamo'

async function loadInventory(db: SqliteSql): Promise<void> {
  await db.transaction(async (tx) => {
    for (const [name, type] of [
      [SITE, 'disk'],
      ['T1_US_FNAL_Disk', 'disk'],
      ['T1_US_FNAL_MSS', 'mss'],
      ['T2_DE_DESY', 'disk'],
    ]) {
      await tx.run('INSERT INTO sites (name, storage_type) VALUES (?, ?)', [name as string, type as string])
    }
    await tx.run(`UPDATE sites SET status = 'morgue' WHERE name = 'T2_DE_DESY'`)
    await insertReplicas(tx, inventoryRows())
    await tx.run(
      `INSERT INTO protected_datasets (site, dataset) VALUES (?, '/ZeroBias/Run2018A-17Sep2018-v1/MINIAOD')`,
      [SITE],
    )
    for (const t of transfers()) {
      await tx.run(
        `INSERT INTO transfer_queue (file, site_from, site_to, status, created) VALUES (?, ?, ?, 'new', 0)`,
        [t.lfn, t.source, t.destination],
      )
    }
    // the data-management system deletes two datasets at the site, and queued two of their files
    for (const dataset of ['/Tau/Run2018A-17Sep2018-v1/MINIAOD', '/EGamma/Run2018A-17Sep2018-v1/MINIAOD']) {
      await tx.run('INSERT INTO deletion_requests (site, dataset) VALUES (?, ?)', [SITE, dataset])
    }
    for (const lfn of [TAU_DELETION, DELETING]) {
      await tx.run(`INSERT INTO deletion_queue (file, site, status, created) VALUES (?, ?, 'new', 0)`, [lfn, SITE])
    }
  })
}

let site: SiteSetup
let db: SqliteSql

beforeEach(async () => {
  site = makeSite('check')
  config.setLocation(site.config)
  db = openEmbeddedDatabase()
  await loadInventory(db)
})

afterEach(async () => {
  await db.close()
  config.setLocation(null)
})

async function check(options: Partial<Parameters<typeof runCheck>[0]> = {}) {
  const backend = new EmbeddedBackend(openEmbeddedDatabase())
  try {
    return await runCheck({ site: SITE, backend, haltPollSeconds: 0.1, ...options })
  } finally {
    await backend.close()
  }
}

const EXPECTED_MISSING = ['0A3B.root', 'LOST1.root', 'LOST2.root', 'LOST3.root']
const EXPECTED_ORPHAN = ['0A3B.root', 'D1.root', 'DARK1.root', 'DARK2 with space.root']

describe('check on the embedded store', () => {
  it('finds the right lists, writes them, records the run and asks nothing of a dry site', async () => {
    const report = await check()
    expect(report).not.toBeNull()
    if (!report) return
    expect(report.reporting).toBe('dry')
    expect(report.missing.map(short).sort()).toEqual(EXPECTED_MISSING)
    expect(report.orphan.map(short).sort()).toEqual(EXPECTED_ORPHAN)
    expect(report.noSource.map(short).sort()).toEqual(['0A3B.root', 'LOST2.root', 'LOST3.root'])
    expect(report.unrecoverable.map(short).sort()).toEqual(['0A3B.root', 'LOST3.root'])
    // the empty directory and its parents up to the first with files, deepest first
    expect(report.empty[0]).toBe(EMPTY_DIR)
    expect(report.empty).toContain('/store/mc/RunIISummer20UL18/Empty_TuneCP5')
    for (let i = 1; i < report.empty.length; i++) {
      expect((report.empty[i] as string).length).toBeLessThan((report.empty[i - 1] as string).length)
    }
    // the lists in WebDir
    expect(
      lines(path.join(site.web, `${SITE}_compare_missing.txt`))
        .map(short)
        .sort(),
    ).toEqual(EXPECTED_MISSING)
    expect(
      lines(path.join(site.web, `${SITE}_compare_orphan.txt`))
        .map(short)
        .sort(),
    ).toEqual(EXPECTED_ORPHAN)
    expect(
      lines(path.join(site.web, `${SITE}_compare_unrecoverable.txt`))
        .map(short)
        .sort(),
    ).toEqual(['0A3B.root', 'LOST3.root'])
    expect(lines(path.join(site.web, `${SITE}_compare_missing_nosite.txt`)).map(short)).toHaveLength(3)
    expect(lines(path.join(site.web, `${SITE}_compare_unlisted.txt`))).toEqual([])
    expect(lines(path.join(site.web, `${SITE}_compare_missing_datasets.txt`))).toEqual([
      '2 DataOps /TTJets_TuneCP5/RunIISummer20UL18-106X_upgrade2018-v2/AODSIM#7f3a2c1e-1111-4d2e-9a51-0d6b0c2f0a01',
      '1 DataOps /SingleMuon/Run2018A-17Sep2018-v1/MINIAOD#0e1d2c3b-3333-4f5e-a6b7-c8d9e0f1a203',
      '1 AnalysisOps /TTJets_TuneCP5/RunIISummer20UL18-106X_upgrade2018-v2/AODSIM#9c8d7e6f-2222-4a1b-8c3d-1e2f3a4b5c02',
    ])
    // the log
    expect(fs.readFileSync(report.log, 'utf8')).toMatch(/run \d+ recorded/)
    expect(path.dirname(report.log)).toBe(path.join(site.var, 'logs', SITE))
    // no registry writes
    expect((await db.all('SELECT * FROM transfer_queue')).length).toBe(1)
    expect((await db.all('SELECT * FROM deletion_queue')).length).toBe(2)
    // the summary store
    const store = await openSummary()
    try {
      const sites = await store.sites()
      const mit = sites.find((s) => s.site === SITE)
      expect(mit?.status).toBe('ready')
      expect(mit?.last?.missing).toBe(4)
      expect(mit?.last?.orphan).toBe(4)
      expect(mit?.last?.orphanSize).toBe(3001 + 100 + 500 + 501)
      expect(mit?.last?.missingSize).toBe(3000 + 1500 + 1600 + 1700)
      expect(mit?.last?.files).toBe(report.stats.files)
      expect(mit?.last?.unrecoverable).toBe(2)
      expect(mit?.last?.heldBack).toBeNull()
      // the morgue site and the tape site are known but never picked
      expect(sites.map((s) => s.site)).toContain('T2_DE_DESY')
      expect((await store.history(SITE)).length).toBe(1)
      expect((await store.findings(SITE, 'missing')).map((f) => short(f.lfn)).sort()).toEqual(EXPECTED_MISSING)
      expect((await store.findings(SITE, 'empty')).map((f) => f.lfn)).toContain(EMPTY_DIR)
    } finally {
      await store.close()
    }
  })

  it('acts on an act site: deletions and transfers once confirmed by a second run', async () => {
    const store = await openSummary()
    await store.setStatus(SITE, 'act')
    await store.close()
    const ours = () =>
      db.all<{ file: string }>(`SELECT file FROM deletion_queue WHERE site = ? AND file NOT IN (?, ?) ORDER BY reqid`, [
        SITE,
        TAU_DELETION,
        DELETING,
      ])
    const first = await check()
    expect(first?.requested).toEqual({ deletions: 0, transfers: 0 })
    expect(first?.sizeMismatch.map((f) => [short(f.lfn), f.size, f.inventorySize])).toEqual([['0A3B.root', 3001, 3000]])
    expect(await ours()).toEqual([])
    expect((await db.all('SELECT * FROM transfer_queue')).length).toBe(1)

    const second = await check()
    const asked = (await ours()).map((d) => d.file)
    // the orphans, the size mismatch seen twice the same among them, then the empty directories
    expect(
      asked
        .filter((f) => f.endsWith('.root'))
        .map(short)
        .sort(),
    ).toEqual(EXPECTED_ORPHAN)
    const dirs = asked.filter((f) => !f.endsWith('.root'))
    expect(dirs[0]).toBe(EMPTY_DIR)
    expect(dirs).toEqual(second?.empty)
    // our own deletion request hides nothing: 0A3B stays missing
    expect(second?.missing.map(short).sort()).toEqual(EXPECTED_MISSING)
    expect(second?.confirmedMissing.map(short).sort()).toEqual(EXPECTED_MISSING)
    // one request per source: LOST1 from disk, LOST2 from tape (no disk copy); 0A3B and LOST3 have none
    const transfers = await db.all<{ file: string; site_from: string; site_to: string }>(
      'SELECT file, site_from, site_to FROM transfer_queue WHERE created > 0 ORDER BY file',
    )
    expect(transfers.map((t) => [short(t.file), t.site_from, t.site_to])).toEqual([
      ['LOST1.root', 'T1_US_FNAL_Disk', SITE],
      ['LOST2.root', 'T1_US_FNAL_MSS', SITE],
    ])
    const s2 = await openSummary()
    try {
      // the transferred files are marked acted on in the second run's findings
      const missing = await s2.findings(SITE, 'missing')
      expect(missing.map((f) => [short(f.lfn), f.acted === null]).sort()).toEqual([
        ['0A3B.root', true],
        ['LOST1.root', false],
        ['LOST2.root', false],
        ['LOST3.root', true],
      ])
      const acted = await s2.actedFindings(SITE, 'missing')
      expect(acted.map((f) => [short(f.lfn), f.runId])).toEqual([
        ['LOST1.root', second?.runId],
        ['LOST2.root', second?.runId],
      ])
      // the first run's findings are kept
      expect((await s2.findings(SITE, 'missing', first?.runId)).map((f) => short(f.lfn)).sort()).toEqual(
        EXPECTED_MISSING,
      )
      expect((await s2.actedFindings(SITE, 'orphan')).map((f) => f.runId)).toEqual([
        second?.runId,
        second?.runId,
        second?.runId,
        second?.runId,
      ])
      expect((await s2.history(SITE)).length).toBe(2)
    } finally {
      await s2.close()
    }
  })

  it('holds everything back above MaxOrphan and says why', async () => {
    // confirmation at once: the gate alone must hold the requests back
    makeConfig({ MaxOrphan: 3, OrphanConfirmRuns: 1 })
    const store = await openSummary()
    await store.setStatus(SITE, 'act')
    await store.close()
    const report = await check()
    expect(report?.stats.heldBack).toMatch(/4 orphans exceed MaxOrphan 3/)
    expect(report?.requested).toEqual({ deletions: 0, transfers: 0 })
    expect((await db.all('SELECT * FROM deletion_queue')).length).toBe(2)
    const again = await check()
    expect(again?.stats.heldBack).toMatch(/MaxOrphan/)
    expect((await db.all('SELECT * FROM transfer_queue')).length).toBe(1)
    expect((await db.all('SELECT * FROM deletion_queue')).length).toBe(2)
  })

  it('holds everything back above MaxMissing', async () => {
    makeConfig({ MaxMissing: 2, OrphanConfirmRuns: 1 })
    const store = await openSummary()
    await store.setStatus(SITE, 'act')
    await store.close()
    const report = await check()
    expect(report?.stats.heldBack).toMatch(/4 missing files exceed MaxMissing 2/)
    expect(report?.stats.heldBack).not.toMatch(/MaxOrphan/)
    expect((await db.all('SELECT * FROM deletion_queue')).length).toBe(2)
    // a second run would confirm the missing files: still nothing asked
    const again = await check()
    expect(again?.confirmedMissing.length).toBe(4)
    expect(again?.requested).toEqual({ deletions: 0, transfers: 0 })
    expect((await db.all('SELECT * FROM transfer_queue')).length).toBe(1)
    expect((await db.all('SELECT * FROM deletion_queue')).length).toBe(2)
  })

  it('calls missing only what both inventory listings hold, orphan only what neither does', async () => {
    const lost3 = inventoryRows().find((r) => short(r.lfn) === 'LOST3.root')?.lfn as string
    const dark1 = '/store/data/Run2018A/DoubleMuon/MINIAOD/17Sep2018-v1/20000/DARK1.root'
    const report = await check({
      afterRemoteListing: async () => {
        // while the storage was listed, LOST3 was deleted and DARK1 registered
        await db.run('DELETE FROM replicas WHERE site = ? AND lfn = ?', [SITE, lost3])
        await db.run(
          `INSERT INTO replicas (site, lfn, size, block, grp, complete) VALUES (?, ?, 500, '', 'DataOps', 1)`,
          [SITE, dark1],
        )
      },
    })
    expect(report?.missing.map(short).sort()).toEqual(['0A3B.root', 'LOST1.root', 'LOST2.root'])
    // DARK1 is no orphan; nor is DARK2 now that its dataset has a file at the site
    expect(report?.orphan.map(short).sort()).toEqual(['0A3B.root', 'D1.root'])
  })

  it('cleans /store/unmerged: old files and old logs, not protected or avoided ones', async () => {
    const day = 86_400
    const t = Math.floor(Date.now() / 1000)
    const u = '/store/unmerged/RunIISummer20UL18/TTJets_TuneCP5/AODSIM/106X_upgrade2018-v2/00000'
    const files: [string, number][] = [
      [`${u}/OLD.root`, t - 30 * day],
      [`${u}/THREE_DAYS.root`, t - 3 * day],
      [`${u}/NEW.root`, t - 3600],
      ['/store/unmerged/Protected/AODSIM/v1/00000/KEEP.root', t - 30 * day],
      // a protected entry covers every LFN it begins, as the original's prefix match
      ['/store/unmerged/ProtectedToo/AODSIM/v1/00000/KEEP_TOO.root', t - 30 * day],
      ['/store/unmerged/logs/prod/2018/6/1/OLD_LOG.tar.gz', t - 30 * day],
      ['/store/unmerged/logs/prod/2018/6/1/YOUNG_LOG.tar.gz', t - 3 * day],
      ['/store/unmerged/SAM/AVOIDED.root', t - 30 * day],
    ]
    for (const [lfn, mtime] of files) writeFile(path.join(site.storage, lfn), 10, mtime)
    const protectedList = path.join(site.dir, 'protected.json')
    fs.writeFileSync(protectedList, JSON.stringify({ protected: ['/store/unmerged/Protected'] }))
    makeConfig({ Unmerged: [SITE], ListDeletable: protectedList, UnmergedMinAge: 1, UnmergedLogsAge: 7 })
    const store = await openSummary()
    await store.setStatus(SITE, 'act')
    await store.close()
    const report = await check()
    expect(report?.unmerged.map(short).sort()).toEqual(['OLD.root', 'OLD_LOG.tar.gz', 'THREE_DAYS.root'])
    expect(report?.stats.unmerged).toBe(3)
    expect(report?.stats.unmergedSize).toBe(30)
    // unmerged files are never orphans: the inventory has no /store/unmerged, so it is not compared
    expect(report?.orphan.some((l) => l.startsWith('/store/unmerged/'))).toBe(false)
    const asked = await db.all<{ file: string }>(`SELECT file FROM deletion_queue WHERE file LIKE '/store/unmerged/%'`)
    expect(asked.map((r) => short(r.file)).sort()).toEqual(['OLD.root', 'OLD_LOG.tar.gz', 'THREE_DAYS.root'])
    const s2 = await openSummary()
    try {
      expect((await s2.actedFindings(SITE, 'unmerged')).length).toBe(3)
      expect((await s2.history(SITE))[0]?.unmerged).toBe(3)
    } finally {
      await s2.close()
    }
    // a protected list that cannot be read is a clear error
    makeConfig({ ListDeletable: path.join(site.dir, 'nowhere.json') })
    await expect(check()).rejects.toThrow(/ListDeletable .*nowhere\.json/)
  })

  it('cleans AdditionalLogDeletions with --more-logs, and nothing without a protected list, as the original', async () => {
    const day = 86_400
    const t = Math.floor(Date.now() / 1000)
    const files: [string, number][] = [
      ['/store/unmerged/Some/AODSIM/v1/00000/OLD.root', t - 40 * day],
      ['/store/unmerged/logs/prod/OLD_LOG.tar.gz', t - 70 * day],
      ['/store/logs/prod/recent/OLD_MORE.tar.gz', t - 70 * day],
      ['/store/logs/prod/recent/YOUNG_MORE.tar.gz', t - 3 * day],
      ['/store/logs/prod/old/OLD_MORE_TOO.tar.gz', t - 70 * day],
      ['/store/unmerged/data/Run2018A/OLD_AVOIDED.root', t - 40 * day],
    ]
    for (const [lfn, mtime] of files) writeFile(path.join(site.storage, lfn), 10, mtime)
    const protectedList = path.join(site.dir, 'protected.txt')
    fs.writeFileSync(protectedList, '/store/unmerged/Protected\n')
    // the original's file: no UnmergedMinAge, logs 60 days, its ListDeletable object
    makeConfig({
      Unmerged: [SITE],
      UnmergedLogsAge: 60,
      // relative to RootPath, as the original's JSON file, or an LFN, as its YAML file
      AdditionalLogDeletions: { [SITE]: ['logs/prod/recent', '/store/logs/prod/old'] },
      ListDeletable: { LFN_TO_CLEAN: '/store/unmerged', DIRS_TO_AVOID: ['logs', 'data'], MIN_AGE: 2419200 },
    })
    // no protected list: nothing is deletable
    const none = await findUnmerged(SITE)
    expect(none.files).toEqual([])
    expect(none.refused).toMatch(/no protected list/)
    fs.writeFileSync(path.join(site.dir, 'empty.txt'), '\n')
    makeConfig({ ListDeletable: { ProtectedList: path.join(site.dir, 'empty.txt') } })
    expect((await findUnmerged(SITE)).refused).toMatch(/empty\.txt is empty/)
    makeConfig({
      ListDeletable: { LFN_TO_CLEAN: '/store/unmerged', DIRS_TO_AVOID: ['logs', 'data'], ProtectedList: protectedList },
    })
    const plain = await findUnmerged(SITE)
    expect(plain.files.map((f) => short(f.lfn)).sort()).toEqual(['OLD.root', 'OLD_LOG.tar.gz'])
    const more = await findUnmerged(SITE, undefined, { moreLogs: true })
    expect(more.files.map((f) => short(f.lfn)).sort()).toEqual([
      'OLD.root',
      'OLD_LOG.tar.gz',
      'OLD_MORE.tar.gz',
      'OLD_MORE_TOO.tar.gz',
    ])
    // AlternateRoot: the site's unmerged, its logs and its avoided directories below another root
    writeFile(path.join(site.storage, '/store/test/unmerged/X/OLD_ALT.root'), 10, t - 40 * day)
    writeFile(path.join(site.storage, '/store/test/unmerged/data/OLD_ALT_AVOIDED.root'), 10, t - 40 * day)
    writeFile(path.join(site.storage, '/store/test/logs/prod/recent/OLD_ALT_LOG.tar.gz'), 10, t - 70 * day)
    makeConfig({
      ListDeletable: {
        DIRS_TO_AVOID: ['logs', 'data'],
        ProtectedList: protectedList,
        AlternateRoot: { [SITE]: '/store/test' },
      },
    })
    expect(config.get('UnmergedRoot')).toEqual({ [SITE]: '/store/test' })
    const alt = await findUnmerged(SITE, undefined, { moreLogs: true })
    // (an LFN in AdditionalLogDeletions stays where it is)
    expect(alt.files.map((f) => f.lfn).sort()).toEqual([
      '/store/logs/prod/old/OLD_MORE_TOO.tar.gz',
      '/store/test/logs/prod/recent/OLD_ALT_LOG.tar.gz',
      '/store/test/unmerged/X/OLD_ALT.root',
    ])
  })

  it('runs on the listing-file back end: every listed file old', async () => {
    const listing = path.join(site.dir, 'inventory-listing.txt')
    const mine = inventoryRows().filter((r) => r.site === SITE)
    fs.writeFileSync(listing, mine.map((r) => `${r.lfn}|${r.size}`).join('\n'))
    makeConfig({ InventoryBackend: 'listing', InventoryListing: { [SITE]: listing } })
    const backend = new ListingBackend(openEmbeddedDatabase())
    try {
      const report = await runCheck({ site: SITE, backend })
      // no replica states in a listing file: the unowned and incomplete files count as missing too
      expect(report?.missing.map(short).sort()).toEqual([...EXPECTED_MISSING, '0C2D.root', 'UNOWNED.root'].sort())
      expect(report?.orphan.map(short).sort()).toEqual(EXPECTED_ORPHAN)
      expect(await backend.checkSite('T1_US_FNAL_Disk')).toBe(false)
    } finally {
      await backend.close()
    }
  })

  it('stops within seconds when the site is halted, and the halt stays', async () => {
    const started = Date.now()
    const run = check({
      afterRemoteListing: async () => {
        expect(cli(['set-status', SITE, 'halt', '--config', site.config]).code).toBe(0)
        await new Promise((r) => setTimeout(r, 1500))
      },
    })
    await expect(run).rejects.toBeInstanceOf(HaltedError)
    expect(Date.now() - started).toBeLessThan(30_000)
    const store = await openSummary()
    try {
      expect((await store.status(SITE))?.status).toBe('halt')
      expect(await store.history(SITE)).toEqual([])
    } finally {
      await store.close()
    }
    // a halted site is not picked
    expect(await check()).toBeNull()
    expect(cli(['set-status', SITE, 'ready', '--config', site.config]).code).toBe(0)
    expect(await check()).not.toBeNull()
  })

  it('never picks a disabled site, and a run never overwrites disabled', async () => {
    expect(cli(['set-status', SITE, 'disable', '--config', site.config]).code).toBe(0)
    expect(await check()).toBeNull()
    const store = await openSummary()
    try {
      expect((await store.status(SITE))?.status).toBe('disabled')
    } finally {
      await store.close()
    }
  })
})

describe('check, set-status and invalidate commands', () => {
  it('runs the check from the command line and invalidates at act sites only', async () => {
    const r = cli(['check', '--site', 'T2_US_.*', '--config', site.config, '--quiet'])
    expect(r.stderr).toBe('')
    expect(r.code).toBe(0)
    expect(r.stdout).toMatch(/T2_US_MIT \(dry\)/)
    expect(r.stdout).toMatch(/missing: +4 files/)
    // dry: nothing invalidated
    expect(cli(['invalidate', '--yes', '--config', site.config]).stdout).toMatch(/no act site/)
    expect(await db.all('SELECT * FROM local_invalidations')).toEqual([])
    expect(cli(['set-status', SITE, 'act', '--config', site.config]).stdout).toMatch(/T2_US_MIT: ready act/)
    const inv = cli(['invalidate', '--yes', '--site', 'T2_.*', '--config', site.config])
    expect(inv.code).toBe(0)
    expect(inv.stdout).toMatch(/T2_US_MIT: 4 missing files invalidated/)
    const rows = await db.all<{ lfn: string }>('SELECT lfn FROM local_invalidations WHERE site = ?', [SITE])
    expect(rows.map((x) => short(x.lfn)).sort()).toEqual(EXPECTED_MISSING)
    // acted on: every missing file of the last run is marked
    const store = await openSummary()
    try {
      expect((await store.findings(SITE, 'missing')).filter((f) => f.acted === null)).toEqual([])
      expect((await store.actedFindings(SITE, 'missing')).length).toBe(4)
      expect(cli(['invalidate', '--yes', '--config', site.config]).stdout).toMatch(/nothing to invalidate/)
    } finally {
      await store.close()
    }
  })

  it("accepts the original's command lines with their meaning, or none where the help says so", async () => {
    const store = await openSummary()
    await store.setStatus(SITE, 'act')
    await store.close()
    const base = ['check', '--config', site.config]
    // the original's cron line at a CMS site: every option accepted
    const typical = cli([
      ...base,
      ...['--site', 'T2_US_.*', '--lock', 'gfal', '--cms', '--unmerged', '--more-logs', '--info', '--update-summary'],
      ...['--no-sam', '--email', '--v1-reporting', '--cnf', '/etc/my.cnf', '--date-string', '20181010', '--quiet'],
    ])
    expect(typical.stderr).toBe('')
    expect(typical.code).toBe(0)
    expect(typical.stdout).toMatch(/T2_US_MIT \(act\)/)
    // --test: a dry run, though the orphans are now confirmed
    const test = cli([...base, '--site', SITE, '--test', '--debug', '--no-inventory', '--quiet'])
    expect(test.code).toBe(0)
    expect(test.stdout).toMatch(/requests: +0 deletions, 0 transfers/)
    expect(await db.all(`SELECT * FROM deletion_queue WHERE created > 0`)).toEqual([])
    // --no-orphan: the empty directories and transfers are requested, no orphan
    const noOrphan = cli([...base, '--site', SITE, '--no-orphan', '--cms', '--quiet'])
    expect(noOrphan.code).toBe(0)
    const asked = await db.all<{ file: string }>(`SELECT file FROM deletion_queue WHERE created > 0`)
    expect(asked.length).toBeGreaterThan(0)
    expect(asked.filter((r) => r.file.endsWith('.root'))).toEqual([])
    expect(noOrphan.stdout).toMatch(/transfers/)
    // --v1: Dynamo's database for the run, which this configuration does not name
    const v1 = cli([...base, '--site', SITE, '--v1', '--quiet'])
    expect(v1.code).toBe(1)
    expect(v1.stderr).toMatch(/DynamoDatabase/)
    // an option of neither tool is still refused
    expect(cli([...base, '--site', SITE, '--no-such-option']).code).toBe(2)
  })

  it('three concurrent workers on one host never pick the same site', async () => {
    const extra = ['T2_US_Caltech', 'T2_US_Nebraska', 'T2_US_Purdue']
    const text = JSON.parse(fs.readFileSync(site.config, 'utf8'))
    for (const s of extra) {
      text.AccessMethod[s] = text.AccessMethod[SITE]
      await db.run('INSERT INTO sites (name) VALUES (?)', [s])
      await db.run('INSERT INTO replicas SELECT ?, lfn, size, block, grp, complete FROM replicas WHERE site = ?', [
        s,
        SITE,
      ])
    }
    fs.writeFileSync(site.config, JSON.stringify(text))
    const worker = () =>
      new Promise<string>((resolve) => {
        const child = spawn(process.execPath, [CLI, 'check', '--site', 'T2_US_.*', '--config', site.config, '--quiet'])
        let out = ''
        child.stdout.on('data', (d) => {
          out += d
        })
        child.on('close', () => resolve(out))
      })
    const picked = (await Promise.all([worker(), worker(), worker()])).map((o) => /^(T2_\S+) \(/.exec(o)?.[1])
    expect(picked.every((p) => p !== undefined)).toBe(true)
    expect(new Set(picked).size).toBe(3)
    const store = await openSummary()
    try {
      const sites = await store.sites()
      expect(sites.filter((s) => s.last !== null)).toHaveLength(3)
      expect(sites.every((s) => s.status === 'ready')).toBe(true)
    } finally {
      await store.close()
    }
  })

  it('says no ready site matches, and rejects bad usage with exit code 2', () => {
    expect(cli(['check', '--site', 'T3_NOWHERE', '--config', site.config]).stdout).toMatch(/no ready site matches/)
    expect(cli(['check', '--config', site.config]).code).toBe(2)
    expect(cli(['check', '--site', '(', '--config', site.config]).code).toBe(2)
    expect(cli(['set-status', SITE, 'sideways', '--config', site.config]).code).toBe(2)
    expect(cli(['set-status', SITE, '--config', site.config]).code).toBe(2)

    // FreeMem, as the original: GB of available memory a run needs; with less, no run and exit 0
    makeConfig({ FreeMem: 1e6 })
    const low = cli(['check', '--site', SITE, '--config', site.config])
    expect(low.code).toBe(0)
    expect(low.stderr).toMatch(/not enough available memory: .* want 1000000 GB \(FreeMem\); not running now/)
    expect(low.stdout).toBe('')
  })

  it('imports a listing file into the embedded inventory and dumps trees', () => {
    const listing = path.join(site.dir, 'inv.txt')
    fs.writeFileSync(listing, '/store/mc/a/b/c/d/1.root|10\n/store/mc/a/b/c/d/2.root|20\n')
    const r = cli(['import-inventory', '--site', 'T2_CH_CERN', listing, '--config', site.config])
    expect(r.stderr).toBe('')
    expect(r.stdout).toMatch(/T2_CH_CERN: 2 files imported/)
    const out = path.join(site.dir, 'cern.tree')
    const d = cli(['dump-tree', '--site', 'T2_CH_CERN', out, '--config', site.config])
    expect(d.stdout).toMatch(/2 files/)
    const c = cli(['compare', out, listing, '--json', '--output', path.join(site.dir, 'x')])
    expect(JSON.parse(c.stdout).missing.count).toBe(0)
    const bad = path.join(site.dir, 'bad.txt')
    fs.writeFileSync(bad, '/store/ok|1\nrelative/path|2\n')
    const b = cli(['import-inventory', '--site', 'T2_CH_CERN', bad, '--config', site.config])
    expect(b.code).toBe(1)
    expect(b.stderr).toMatch(/bad\.txt:2/)
    // the failed import lost nothing
    expect(cli(['dump-tree', '--site', 'T2_CH_CERN', out, '--config', site.config]).stdout).toMatch(/2 files/)
    // the original's --date-string is accepted
    const dated = cli(['dump-tree', '--site', 'T2_CH_CERN', out, '--date-string', '20261130', '--config', site.config])
    expect(dated.code, dated.stderr).toBe(0)
    expect(dated.stdout).toMatch(/2 files/)
  })
})

function makeConfig(extra: Record<string, unknown>): void {
  const text = JSON.parse(fs.readFileSync(site.config, 'utf8'))
  fs.writeFileSync(site.config, JSON.stringify({ ...text, ...extra }))
  config.setLocation(site.config)
}
