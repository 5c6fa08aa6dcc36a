/**
 * The check against Dynamo's schema on a throwaway MariaDB server, with the
 * summary store on the same server: lists, registry rows, history, a server
 * that dies mid-report, and concurrent workers.
 */
import { spawn } from 'node:child_process'
import * as fs from 'node:fs'
import * as path from 'node:path'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { DynamoBackend, MysqlSql } from '../src/backends'
import { runCheck } from '../src/check'
import { config } from '../src/config'
import { lfnFromText } from '../src/lfn'
import { openSummary } from '../src/summary/store'
import { EMPTY_DIR, inventoryRows, makeSite, SITE, type SiteSetup, short } from './helpers/check-site'
import { CLI, cli } from './helpers/cli'
import { DELETING, LAST_UPDATE, loadDynamo, q, TAU_DELETION } from './helpers/dynamo'
import { type MariaDb, skipUnlessStrict, startMariaDb } from './helpers/mariadb'

let server: MariaDb
let site: SiteSetup

beforeAll(async () => {
  server = await startMariaDb()
})

afterAll(async () => {
  config.setLocation(null)
  await server?.stop()
})

// the tool's own connections must run in strict mode, as the tests' do
beforeEach((context) => skipUnlessStrict(server, context))

function setUp(extraSites: string[] = []): void {
  loadDynamo(server, extraSites)
  site = makeSite('mysql', {
    InventoryBackend: 'dynamo',
    DynamoDatabase: `${server.url}/${server.db('dynamo')}`,
    DynamoRegistry: `${server.url}/${server.db('dynamoregister')}`,
    SummaryDatabase: `${server.url}/${server.db('consistency')}`,
  })
  const text = JSON.parse(fs.readFileSync(site.config, 'utf8'))
  for (const s of extraSites) text.AccessMethod[s] = text.AccessMethod[SITE]
  fs.writeFileSync(site.config, JSON.stringify(text))
  config.setLocation(site.config)
}

const registry = (sql: string) =>
  server
    .sql(sql, 'dynamoregister')
    .split('\n')
    .slice(1)
    .filter((l) => l !== '')

const EXPECTED_MISSING = ['0A3B.root', 'LOST1.root', 'LOST2.root', 'LOST3.root']
const EXPECTED_ORPHAN = ['0A3B.root', 'D1.root', 'DARK1.root', 'DARK2 with space.root']

describe('Dynamo over MySQL', () => {
  beforeEach(() => setUp())

  it('lists a site: complete owned replicas old, the others new', async () => {
    const backend = new DynamoBackend()
    try {
      const before = Math.floor(Date.now() / 1000)
      const inventory = await backend.inventory.listFiles(SITE)
      const mine = inventoryRows().filter((r) => r.site === SITE)
      expect(inventory.fileCount).toBe(mine.length)
      for (const r of mine) {
        const dir = inventory.getNode(path.posix.dirname(r.lfn))
        const f = dir?.files.find((x) => x.name === short(r.lfn))
        expect(f?.size).toBe(r.size)
        if (r.complete && r.group) expect(f?.mtime).toBe(0)
        else expect(f?.mtime).toBeGreaterThanOrEqual(before)
      }
      expect((await backend.siteinfo.siteList()).sort()).toEqual([
        'T1_US_FNAL_Disk',
        'T1_US_FNAL_MSS',
        'T2_DE_DESY',
        SITE,
      ])
      expect(await backend.siteinfo.readySites()).not.toContain('T2_DE_DESY')
      expect(await backend.checkSite(SITE)).toBe(true)
      expect(await backend.checkSite('T1_US_FNAL_MSS')).toBe(false)
      expect(await backend.checkSite('T2_DE_DESY')).toBe(false)
      // as the original: every dataset replicated at the site, the IGNORED one, the one subscribed here
      expect((await backend.inventory.protectedDatasets(SITE)).sort()).toEqual([
        '/DYJets_TuneCP5/RunIISummer20UL18-106X_upgrade2018-v2/AODSIM',
        '/EGamma/Run2018A-17Sep2018-v1/MINIAOD',
        '/QCD_Pt-15_TuneCP5/RunIISummer20UL18-106X_upgrade2018-v2/AODSIM',
        '/SingleMuon/Run2018A-17Sep2018-v1/MINIAOD',
        '/TTJets_TuneCP5/RunIISummer20UL18-106X_upgrade2018-v2/AODSIM',
        '/ZeroBias/Run2018A-17Sep2018-v1/MINIAOD',
      ])
      // Dynamo deletes the Tau and EGamma datasets at the site; the check's own requests (reqid 0) are no deletion requests
      expect((await backend.inventory.deletionRequests(SITE)).sort()).toEqual([
        '/EGamma/Run2018A-17Sep2018-v1/MINIAOD',
        '/Tau/Run2018A-17Sep2018-v1/MINIAOD',
      ])
      // a name wider than the queue's column (512 bytes) gets no row, and does not stop the others
      const tooLong = lfnFromText(`/store/user/${'x'.repeat(600)}.root`)
      const z = lfnFromText('/store/data/Run2018A/ZeroBias/MINIAOD/17Sep2018-v1/20000/Z.root')
      expect(await backend.registry.delete(SITE, [tooLong, z])).toBe(1)
      expect(registry(`SELECT COUNT(*) FROM deletion_queue WHERE file = ${q(z)}`)).toEqual(['1'])
      expect((await backend.inventory.deletionRequests(SITE)).length).toBe(2)
    } finally {
      await backend.close()
    }
  })

  it('runs the check end to end: lists, registry rows and history', async () => {
    const first = cli(['check', '--site', SITE, '--config', site.config, '--quiet'])
    expect(first.stderr).toBe('')
    expect(first.code).toBe(0)
    expect(first.stdout).toMatch(/T2_US_MIT \(dry\)/)
    const missing = fs
      .readFileSync(path.join(site.web, `${SITE}_compare_missing.txt`), 'utf8')
      .trim()
      .split('\n')
    expect(missing.map(short).sort()).toEqual(EXPECTED_MISSING)
    const orphan = fs
      .readFileSync(path.join(site.web, `${SITE}_compare_orphan.txt`), 'utf8')
      .trim()
      .split('\n')
    expect(orphan.map(short).sort()).toEqual(EXPECTED_ORPHAN)
    const blocks = fs.readFileSync(path.join(site.web, `${SITE}_compare_missing_datasets.txt`), 'utf8')
    expect(blocks).toContain('2 DataOps /TTJets_TuneCP5/RunIISummer20UL18-106X_upgrade2018-v2/AODSIM#7f3a2c1e')
    expect(blocks).toContain('1 AnalysisOps /TTJets_TuneCP5/RunIISummer20UL18-106X_upgrade2018-v2/AODSIM#9c8d7e6f')
    // dry: the registry holds only the fixture's requests
    expect(registry('SELECT COUNT(*) FROM deletion_queue')).toEqual(['2'])
    expect(registry('SELECT COUNT(*) FROM transfer_queue')).toEqual(['0'])

    expect(cli(['set-status', SITE, 'act', '--config', site.config]).code).toBe(0)
    expect(cli(['check', '--site', SITE, '--config', site.config, '--quiet']).code).toBe(0)
    // the check's rows: all but the fixture's two
    const fixture = `(${q(TAU_DELETION)}, ${q(DELETING)})`
    const deleted = registry(
      `SELECT file, status, created FROM deletion_queue WHERE file NOT IN ${fixture} ORDER BY file`,
    ).map((l) => l.split('\t') as [string, string, string])
    expect(
      deleted
        .map(([f]) => f)
        .filter((f) => f.endsWith('.root'))
        .map(short)
        .sort(),
    ).toEqual(EXPECTED_ORPHAN)
    // the empty directory, and its parents that only it made non-empty
    const directories = deleted.map(([f]) => f).filter((f) => !f.endsWith('.root'))
    expect(directories).toContain(EMPTY_DIR)
    expect(directories.filter((d) => !EMPTY_DIR.startsWith(d))).toEqual([])
    // new requests, created when they were written: a date and time, not the zero date
    expect(deleted.filter(([, status, created]) => status !== 'new' || !(created > LAST_UPDATE))).toEqual([])
    // missing in two runs in a row, with a disk copy elsewhere (Dynamo's replicas are whole blocks:
    // T1_US_FNAL_Disk holds the block of 0A3B and LOST1)
    const transfers = registry(
      'SELECT file, site_from, site_to, status, created FROM transfer_queue ORDER BY file',
    ).map((l) => l.split('\t') as [string, string, string, string, string])
    // and from tape when no disk copy exists (LOST2)
    expect(transfers.map(([f, from, to]) => `${short(f)}\t${from}\t${to}`)).toEqual([
      '0A3B.root\tT1_US_FNAL_Disk\tT2_US_MIT',
      'LOST1.root\tT1_US_FNAL_Disk\tT2_US_MIT',
      'LOST2.root\tT1_US_FNAL_MSS\tT2_US_MIT',
    ])
    expect(transfers.filter(([, , , status, created]) => status !== 'new' || !(created > LAST_UPDATE))).toEqual([])
    const store = await openSummary()
    try {
      const history = await store.history(SITE)
      expect(history.map((h) => [h.missing, h.orphan, h.nosource, h.unrecoverable])).toEqual([
        [4, 4, 2, 1],
        [4, 4, 2, 1],
      ])
      expect((await store.actedFindings(SITE, 'missing')).map((f) => short(f.lfn)).sort()).toEqual([
        '0A3B.root',
        'LOST1.root',
        'LOST2.root',
      ])
      const mit = (await store.sites()).find((s) => s.site === SITE)
      expect(mit?.status).toBe('ready')
      expect(mit?.reporting).toBe('act')
    } finally {
      await store.close()
    }
    // invalidate the rest
    expect(cli(['invalidate', '--yes', '--config', site.config]).stdout).toMatch(
      /T2_US_MIT: 1 missing file invalidated/,
    )
    expect(server.sql('SELECT COUNT(*) FROM local_invalidations', 'dynamoregister')).toMatch(/\n1\n/)
  })

  it('serves the page without creating or changing a table of the store', async () => {
    const www = path.join(site.dir, 'page')
    const text = JSON.parse(fs.readFileSync(site.config, 'utf8'))
    const withStore = (url: string) => fs.writeFileSync(site.config, JSON.stringify({ ...text, SummaryDatabase: url }))
    // a database with no store yet: a one-line error, and still no table
    const empty = server.db('no_store')
    server.sql(`DROP DATABASE IF EXISTS \`${empty}\`; CREATE DATABASE \`${empty}\``)
    withStore(`${server.url}/${empty}`)
    const none = cli(['web', 'install', '--dir', www, '--config', site.config])
    expect(none.code).toBe(1)
    expect(none.stderr.trim().split('\n')).toHaveLength(1)
    expect(none.stderr).toMatch(/no summary store here yet/)
    expect(server.sql('SHOW TABLES', 'no_store').trim()).toBe('')
    // a store a check wrote: read, never changed; the password (with `/` and `@`) never shown
    withStore(text.SummaryDatabase)
    expect(cli(['check', '--site', SITE, '--config', site.config, '--quiet']).code).toBe(0)
    const checksum = () => server.sql('CHECKSUM TABLE site_status, site_runs, findings', 'consistency')
    const before = checksum()
    const url = new URL(text.SummaryDatabase)
    url.password = encodeURIComponent('pa/ss@word')
    withStore(url.toString())
    const r = cli(['web', 'install', '--dir', www, '--config', site.config])
    expect(r.stderr).toBe('')
    expect(r.code).toBe(0)
    expect(fs.readFileSync(path.join(www, 'api', 'sites.json'), 'utf8')).toContain(SITE)
    const shown = fs.readFileSync(path.join(www, 'config.json'), 'utf8')
    expect(shown).toContain('***')
    expect(shown).not.toMatch(/pa%2Fss|word/)
    expect(checksum()).toBe(before)
  })

  it('keeps names that are not UTF-8, or not ASCII, byte for byte: in the listing and in the requests', async () => {
    const dir = '/store/data/Run2018A/SingleMuon/MINIAOD/17Sep2018-v1/20000/'
    const bytes = (name: string) => Buffer.from(`${dir}${name}`, 'latin1')
    // in the inventory and on storage (B1's block): neither missing nor orphan
    const held = [bytes('B\xff.root'), bytes('B\xe2\x82\xac.root')]
    // only on storage: orphans, one not UTF-8 and one the UTF-8 of U+20AC (its bytes include 0x82)
    // (in a dataset the site holds nothing of, as DARK1 and DARK2: orphans of the site's datasets are protected)
    const darkDir = '/store/data/Run2018A/DoubleMuon/MINIAOD/17Sep2018-v1/20000/'
    const dark = [
      Buffer.from(`${darkDir}DARK\xff.root`, 'latin1'),
      Buffer.from(`${darkDir}DARK\xe2\x82\xac.root`, 'latin1'),
    ]
    for (const name of [...held, ...dark]) {
      const file = Buffer.concat([Buffer.from(site.storage), name])
      fs.writeFileSync(file, 'x')
      fs.utimesSync(file, 1_500_000_000, 1_500_000_000)
    }
    const conn = await server.connect('dynamo')
    try {
      for (const name of held) {
        await conn.query(
          "INSERT INTO files (block_id, size, name) SELECT block_id, 1, ? FROM files WHERE name LIKE '%/20000/B1.root'",
          [name],
        )
      }
    } finally {
      await conn.end()
    }
    expect(cli(['check', '--site', SITE, '--config', site.config, '--quiet']).code).toBe(0)
    expect(cli(['set-status', SITE, 'act', '--config', site.config]).code).toBe(0)
    const run = cli(['check', '--site', SITE, '--config', site.config, '--quiet'])
    expect(run.stderr).toBe('')
    expect(run.code).toBe(0)
    // the requests name the orphans' bytes
    const requested = registry(
      `SELECT HEX(SUBSTRING_INDEX(file, '/', -1)) FROM deletion_queue WHERE file LIKE '%/DoubleMuon/%/DARK%'`,
    ).sort()
    const expected = ['DARK1.root', 'DARK2 with space.root', 'DARK\xff.root', 'DARK\xe2\x82\xac.root']
    expect.soft(requested).toEqual(expected.map((n) => Buffer.from(n, 'latin1').toString('hex').toUpperCase()).sort())
    // and the two held files were found on storage
    const store = await openSummary()
    try {
      expect((await store.history(SITE)).map((h) => [h.missing, h.orphan])).toEqual([
        [4, 6],
        [4, 6],
      ])
    } finally {
      await store.close()
    }
  })

  // it kills the server: only the throwaway one, never a server given by MYSQL_URL
  it.skipIf(Boolean(process.env.MYSQL_URL))('leaves the store consistent when the server dies mid-report', async () => {
    const store = await openSummary()
    await store.close()
    let killed = false
    const run = runCheck({
      site: SITE,
      duringReport: async () => {
        if (killed) return
        killed = true
        await server.kill()
      },
    })
    await expect(run).rejects.toThrow()
    expect(killed).toBe(true)
    await server.restart()
    // all or nothing: no run, no findings
    expect(server.sql('SELECT COUNT(*) FROM site_runs', 'consistency')).toMatch(/\n0\n/)
    expect(server.sql('SELECT COUNT(*) FROM findings', 'consistency')).toMatch(/\n0\n/)
    // the site can be run again once set ready
    expect(cli(['set-status', SITE, 'ready', '--config', site.config]).code).toBe(0)
    const again = await runCheck({ site: SITE })
    expect(again?.missing.map(short).sort()).toEqual(EXPECTED_MISSING)
    expect(server.sql(`SELECT COUNT(*) FROM findings WHERE kind = 'missing'`, 'consistency')).toMatch(/\n4\n/)
  })
})

describe('stopping a running check', () => {
  beforeEach(() => setUp())

  /** Start `check` in a child process whose inventory query waits on a table lock we hold. */
  async function blockedCheck() {
    const mysql = require('mysql2/promise') as typeof import('mysql2/promise')
    const locker = await mysql.createConnection(`${server.url}/${server.db('dynamo')}`)
    await locker.query('LOCK TABLES files WRITE')
    const child = spawn(process.execPath, [CLI, 'check', '--site', SITE, '--config', site.config, '--quiet'])
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d) => {
      stdout += d
    })
    child.stderr.on('data', (d) => {
      stderr += d
    })
    const done = new Promise<number>((resolve) => child.on('close', (code) => resolve(code ?? -1)))
    const store = await openSummary()
    try {
      for (let i = 0; i < 300 && (await store.status(SITE))?.status !== 'running'; i++) {
        await new Promise((r) => setTimeout(r, 100))
      }
      expect((await store.status(SITE))?.status).toBe('running')
      // the inventory listing is waiting for the lock now
      await new Promise((r) => setTimeout(r, 300))
    } finally {
      await store.close()
    }
    return { child, done, locker, out: () => ({ stdout, stderr }) }
  }

  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    it(`stops within seconds on ${signal} and puts the site back to ready`, async () => {
      const { child, done, locker, out } = await blockedCheck()
      try {
        const t0 = Date.now()
        child.kill(signal)
        expect(await done).toBe(1)
        expect(Date.now() - t0).toBeLessThan(10_000)
        expect(out().stderr).toMatch(new RegExp(`stopped: received ${signal}`))
      } finally {
        await locker.end()
      }
      const store = await openSummary()
      try {
        expect((await store.status(SITE))?.status).toBe('ready')
        expect(await store.history(SITE)).toEqual([])
      } finally {
        await store.close()
      }
    })
  }

  it('stops within seconds when set to halt from another process, and stays halted', async () => {
    const { done, locker } = await blockedCheck()
    try {
      const t0 = Date.now()
      expect(cli(['set-status', SITE, 'halt', '--config', site.config]).code).toBe(0)
      expect(await done).toBe(1)
      expect(Date.now() - t0).toBeLessThan(10_000)
    } finally {
      await locker.end()
    }
    const store = await openSummary()
    try {
      expect((await store.status(SITE))?.status).toBe('halt')
    } finally {
      await store.close()
    }
  })
})

describe('workers sharing one MariaDB', () => {
  const EXTRA = ['T2_US_Caltech', 'T2_US_Nebraska', 'T2_US_Purdue']

  function worker(): Promise<{ code: number; stdout: string; stderr: string }> {
    return new Promise((resolve) => {
      const child = spawn(process.execPath, [CLI, 'check', '--site', 'T2_US_.*', '--config', site.config, '--quiet'])
      let stdout = ''
      let stderr = ''
      child.stdout.on('data', (d) => {
        stdout += d
      })
      child.stderr.on('data', (d) => {
        stderr += d
      })
      child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }))
    })
  }

  /**
   * Start `n` workers while we hold a lock on Dynamo's `files` table, so that
   * a worker that picked a site waits in its inventory listing: every pick
   * happens while the other workers hold theirs. Once `running` sites are
   * running and the other workers have ended, the lock goes.
   */
  async function heldRound(n: number, running: number) {
    const mysql = require('mysql2/promise') as typeof import('mysql2/promise')
    const locker = await mysql.createConnection(`${server.url}/${server.db('dynamo')}`)
    let locked = true
    const unlock = async () => {
      if (locked) await locker.end()
      locked = false
    }
    try {
      await locker.query('LOCK TABLES files WRITE')
      let ended = 0
      const workers = Array.from({ length: n }, () =>
        worker().then((r) => {
          ended++
          return r
        }),
      )
      // the store's tables appear with the first worker
      const busy = () => {
        try {
          const out = server.sql(
            `SELECT COUNT(*) FROM site_status WHERE status IN ('locked', 'running')`,
            'consistency',
          )
          return Number(out.split('\n')[1])
        } catch {
          return 0
        }
      }
      for (let i = 0; i < 600 && !(busy() === running && ended === n - running); i++) {
        await new Promise((r) => setTimeout(r, 100))
      }
      expect({ busy: busy(), ended }).toEqual({ busy: running, ended: n - running })
      await unlock()
      return await Promise.all(workers)
    } finally {
      await unlock()
    }
  }

  it('three concurrent workers never pick the same site', async () => {
    setUp(EXTRA)
    for (let round = 0; round < 2; round++) {
      const results = await heldRound(3, 3)
      for (const r of results) {
        expect(r.stderr).toBe('')
        expect(r.code).toBe(0)
      }
      const picked = results.map((r) => /^(T2_\S+) \(/.exec(r.stdout)?.[1])
      expect(picked.every((p) => p !== undefined)).toBe(true)
      expect(new Set(picked).size).toBe(3)
    }
    // four sites, six runs: the two least recently run went again
    const runs = server.sql('SELECT site, COUNT(*) FROM site_runs GROUP BY site ORDER BY site', 'consistency')
    const counts = runs.trim().split('\n').slice(1)
    expect(counts).toHaveLength(4)
    expect(counts.map((l) => Number(l.split('\t')[1])).sort()).toEqual([1, 1, 2, 2])
    const stuck = server.sql(`SELECT COUNT(*) FROM site_status WHERE status <> 'ready'`, 'consistency')
    expect(stuck).toMatch(/\n0\n/)
  })

  it('runs a transaction again when the server ends it for a deadlock, and applies it once', async () => {
    server.sql(`CREATE DATABASE IF NOT EXISTS \`${server.db('deadlock')}\``)
    server.sql('CREATE OR REPLACE TABLE t (id INT PRIMARY KEY, v INT NOT NULL) ENGINE=InnoDB', 'deadlock')
    server.sql('INSERT INTO t VALUES (1, 0), (2, 0)', 'deadlock')
    const db = new MysqlSql(`${server.url}/${server.db('deadlock')}`)
    try {
      // each side locks its first row, waits for the other to do the same, then wants the other's row
      const gate = () => {
        let open = () => {}
        const opened = new Promise<void>((r) => {
          open = r
        })
        return { open, opened }
      }
      const a = gate()
      const b = gate()
      const side = (add: number, first: number, second: number, mine: typeof a, theirs: typeof a) =>
        db.transaction(async (tx) => {
          await tx.run('UPDATE t SET v = v + ? WHERE id = ?', [add, first])
          mine.open()
          await theirs.opened
          await tx.run('UPDATE t SET v = v + ? WHERE id = ?', [add, second])
        })
      await Promise.all([side(1, 1, 2, a, b), side(100, 2, 1, b, a)])
      expect(db.retries).toBeGreaterThanOrEqual(1)
      expect(await db.all('SELECT id, v FROM t ORDER BY id')).toEqual([
        { id: 1, v: 101 },
        { id: 2, v: 101 },
      ])
    } finally {
      await db.close()
    }
  })

  it('with one site, one worker runs and the others find nothing to do', async () => {
    setUp()
    const results = await heldRound(3, 1)
    const ran = results.filter((r) => r.stdout.startsWith(`${SITE} (`))
    expect(ran).toHaveLength(1)
    expect(results.filter((r) => /no ready site/.test(r.stdout))).toHaveLength(2)
  })

  it('reports a bad database URL and an unreachable server clearly', async () => {
    setUp()
    const text = JSON.parse(fs.readFileSync(site.config, 'utf8'))
    fs.writeFileSync(site.config, JSON.stringify({ ...text, SummaryDatabase: 'mysql://root@127.0.0.1:1/consistency' }))
    const r = cli(['check', '--site', SITE, '--config', site.config])
    expect(r.code).toBe(1)
    expect(r.stderr).toMatch(/SummaryDatabase mysql:\/\/root@127\.0\.0\.1:1\/consistency: ECONNREFUSED/)
    expect(() => new MysqlSql('http://x')).toThrow(/not a mysql:\/\/ URL/)
  })
})
