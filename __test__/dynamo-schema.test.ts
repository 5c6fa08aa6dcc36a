/**
 * Dynamo's tables as the fixture makes them (`fixtures/dynamo/schema.sql`),
 * on the tests' server in strict SQL mode: what they refuse, what MyISAM
 * does not roll back, and LFNs kept byte for byte in latin1 columns.
 */
import type { Connection } from 'mysql2/promise'
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import {
  insertBlockReplica,
  insertDataset,
  insertDatasetReplica,
  insertDeletion,
  insertFileSubscription,
  insertSite,
  LAST_UPDATE,
  loadDynamo,
} from './helpers/dynamo'
import { type MariaDb, STRICT_SQL_MODE, startMariaDb } from './helpers/mariadb'

let server: MariaDb
let dynamo: Connection
let registry: Connection

beforeAll(async () => {
  server = await startMariaDb()
  // the fixture's own rows go in under strict mode: loading them is the first check
  loadDynamo(server)
})

afterAll(async () => {
  await server?.stop()
})

beforeEach(async () => {
  dynamo = await server.connect('dynamo')
  registry = await server.connect('dynamoregister')
  await registry.query("DELETE FROM deletion_queue WHERE site = 'T2_TEST'")
  await registry.query("DELETE FROM transfer_queue WHERE site_to = 'T2_TEST'")
  await dynamo.query("DELETE FROM files WHERE name LIKE '/store/mc/x/%'")
})

afterEach(async () => {
  await dynamo?.end()
  await registry?.end()
})

const flags = (mode: string) => mode.split(',').sort()

/** The server's error for a statement (its code and message), or 'ok'. */
async function outcome(conn: Connection, sql: string, params: unknown[] = []): Promise<string> {
  try {
    await conn.query(sql, params)
    return 'ok'
  } catch (err) {
    const e = err as { code?: string; message?: string }
    return `${e.code}: ${e.message}`
  }
}

async function rows<T>(conn: Connection, sql: string, params: unknown[] = []): Promise<T[]> {
  const [r] = await conn.query(sql, params)
  return r as T[]
}

describe('strict SQL mode', () => {
  it("is the mode of the tests' sessions, and of a connection made as the tool makes its own", async () => {
    const [mode] = await rows<{ mode: string }>(dynamo, 'SELECT @@SESSION.sql_mode AS mode')
    expect(flags(mode?.mode ?? '')).toEqual(flags(STRICT_SQL_MODE))
    expect(flags(server.sql('SELECT @@SESSION.sql_mode').split('\n')[1] ?? '')).toEqual(flags(STRICT_SQL_MODE))
    if (server.globalModeProblem === undefined) {
      const mysql: typeof import('mysql2/promise') = require('mysql2/promise')
      const plain = await mysql.createConnection(`${server.url}/${server.db('dynamo')}`)
      try {
        const [[row]] = (await plain.query('SELECT @@SESSION.sql_mode AS mode')) as unknown as [[{ mode: string }]]
        // and IGNORE_SPACE, which mysql2 asks for
        expect(flags(row.mode)).toEqual(expect.arrayContaining(flags(STRICT_SQL_MODE)))
      } finally {
        await plain.end()
      }
    }
  })

  it('refuses a number of seconds for a TIMESTAMP, a missing reqid, a status outside the enum', async () => {
    expect(
      await outcome(
        registry,
        "INSERT INTO deletion_queue (file, site, status, created) VALUES ('/store/mc/x/a.root', 'T2_TEST', 'new', ?)",
        [1_700_000_000],
      ),
    ).toMatch(/^ER_TRUNCATED_WRONG_VALUE: Incorrect datetime value: '1700000000' for column .*`created`/)
    expect(
      await outcome(
        registry,
        "INSERT INTO transfer_queue (file, site_from, site_to, status) VALUES ('/store/mc/x/a.root', 'T1_US_FNAL_Disk', 'T2_TEST', 'new')",
      ),
    ).toBe("ER_NO_DEFAULT_FOR_FIELD: Field 'reqid' doesn't have a default value")
    expect(
      await outcome(
        registry,
        "INSERT INTO deletion_queue (file, site, status) VALUES ('/store/mc/x/a.root', 'T2_TEST', 'queued')",
      ),
    ).toMatch(/^WARN_DATA_TRUNCATED: Data truncated for column 'status'/)
    expect(
      await outcome(registry, "INSERT INTO deletion_queue (file, site, status) VALUES (?, 'T2_TEST', 'new')", [
        `/store/mc/x/${'a'.repeat(512)}.root`,
      ]),
    ).toMatch(/^ER_DATA_TOO_LONG: Data too long for column 'file'/)
    expect(await rows(registry, "SELECT * FROM deletion_queue WHERE site = 'T2_TEST'")).toEqual([])
    expect(await rows(registry, "SELECT * FROM transfer_queue WHERE site_to = 'T2_TEST'")).toEqual([])
    // what is right: a date and time (or the default, the current one), and the request's id
    expect(
      await outcome(
        registry,
        "INSERT INTO deletion_queue (file, site, status, created) VALUES ('/store/mc/x/a.root', 'T2_TEST', 'new', FROM_UNIXTIME(?))",
        [1_700_000_000],
      ),
    ).toBe('ok')
    expect(
      await outcome(
        registry,
        "INSERT INTO transfer_queue (reqid, file, site_from, site_to, status) VALUES (7, '/store/mc/x/a.root', 'T1_US_FNAL_Disk', 'T2_TEST', 'new')",
      ),
    ).toBe('ok')
    const [t] = await rows<{ created: number }>(
      registry,
      "SELECT UNIX_TIMESTAMP(created) AS created FROM deletion_queue WHERE site = 'T2_TEST'",
    )
    expect(Number(t?.created)).toBe(1_700_000_000)
  })

  it('refuses inventory rows without the columns Dynamo always writes', async () => {
    expect(
      await outcome(dynamo, "INSERT INTO datasets (name, last_update) VALUES ('/X/Y-v1/AOD', ?)", [LAST_UPDATE]),
    ).toBe("ER_NO_DEFAULT_FOR_FIELD: Field 'is_open' doesn't have a default value")
    // the column's own default, the zero date, is refused in strict mode: rows give last_update
    expect(await outcome(dynamo, "INSERT INTO datasets (name, is_open) VALUES ('/X/Y-v1/AOD', 0)")).toMatch(
      /Incorrect default value '0000-00-00 00:00:00' for column 'last_update'/,
    )
    expect(await outcome(dynamo, "INSERT INTO blocks (dataset_id, name, is_open) VALUES (1, 'b-1', 0)")).toBe(
      "ER_NO_DEFAULT_FOR_FIELD: Field 'last_update' doesn't have a default value",
    )
    expect(
      await outcome(dynamo, 'INSERT INTO block_replicas (block_id, site_id, last_update) VALUES (1, 99, ?)', [
        LAST_UPDATE,
      ]),
    ).toBe("ER_NO_DEFAULT_FOR_FIELD: Field 'group_id' doesn't have a default value")
    expect(
      await outcome(
        dynamo,
        "INSERT INTO file_subscriptions (file_id, site_id, status, `delete`) VALUES (1, 99, 'new', 0)",
      ),
    ).toBe("ER_NO_DEFAULT_FOR_FIELD: Field 'created' doesn't have a default value")
    expect(await outcome(dynamo, 'INSERT INTO dataset_replicas (dataset_id, site_id) VALUES (1, 99)')).toBe(
      "ER_NO_DEFAULT_FOR_FIELD: Field 'growing' doesn't have a default value",
    )
    expect(await rows(dynamo, 'SELECT * FROM datasets WHERE name = ?', ['/X/Y-v1/AOD'])).toEqual([])
  })

  it('INSERT IGNORE turns those refusals into warnings and stores zeros', async () => {
    await registry.query(
      "INSERT IGNORE INTO transfer_queue (file, site_from, site_to, status, created) VALUES ('/store/mc/x/a.root', 'T1_US_FNAL_Disk', 'T2_TEST', 'new', ?)",
      [1_700_000_000],
    )
    const [warnings] = (await registry.query('SHOW WARNINGS')) as unknown as [{ Code: number }[]]
    expect(warnings.map((w) => w.Code).sort()).toEqual([1265, 1364])
    expect(
      await rows(
        registry,
        "SELECT reqid, CAST(created AS CHAR) AS created FROM transfer_queue WHERE site_to = 'T2_TEST'",
      ),
    ).toEqual([{ reqid: 0, created: '0000-00-00 00:00:00' }])
  })
})

describe("the fixture's rows", () => {
  it('of every kind go in under strict mode', () => {
    const block = '/Extra/Run2018A-v1/AOD#0d0e0f10-8888-4a0b-9c1d-2e3f4a5b6c09'
    const lfn = '/store/data/Run2018A/Extra/AOD/v1/00000/E1.root'
    server.sql(
      [
        insertSite({
          name: 'T2_CH_CERN',
          status: 'waitroom',
          host: 'eoscms.cern.ch',
          backend: 'root://eoscms.cern.ch/',
        }),
        insertSite({ name: 'T0_CH_CERN_MSS', storageType: 'mss' }),
        insertDataset('/Extra/Run2018A-v1/AOD', 'IGNORED'),
        `INSERT INTO blocks (dataset_id, name, size, num_files, is_open, last_update) SELECT id, '0d0e0f10-8888-4a0b-9c1d-2e3f4a5b6c09', 10, 1, 1, '${LAST_UPDATE}' FROM datasets WHERE name = '/Extra/Run2018A-v1/AOD';`,
        `INSERT INTO files (block_id, size, name) SELECT b.id, 10, '${lfn}' FROM blocks AS b WHERE b.name = '0d0e0f10-8888-4a0b-9c1d-2e3f4a5b6c09';`,
        insertBlockReplica(block, 'T0_CH_CERN_MSS', 'DataOps', true, true),
        insertBlockReplica(block, 'T2_CH_CERN', '', false),
        insertDatasetReplica('/Extra/Run2018A-v1/AOD', 'T0_CH_CERN_MSS'),
        insertDatasetReplica('/Extra/Run2018A-v1/AOD', 'T2_CH_CERN', true, 'AnalysisOps'),
        insertFileSubscription({ lfn, site: 'T2_CH_CERN' }),
        insertFileSubscription({
          lfn,
          site: 'T2_CH_CERN',
          delete: true,
          status: 'held',
          holdReason: 'site_unavailable',
        }),
      ].join('\n'),
      'dynamo',
    )
    server.sql(insertDeletion(lfn, 'T2_CH_CERN'), 'dynamoregister')
    expect(
      server.sql(
        "SELECT s.name, dr.growing, g.name FROM dataset_replicas AS dr JOIN sites AS s ON s.id = dr.site_id LEFT JOIN `groups` AS g ON g.id = dr.group_id JOIN datasets AS d ON d.id = dr.dataset_id WHERE d.name = '/Extra/Run2018A-v1/AOD' ORDER BY s.name",
        'dynamo',
      ),
    ).toBe('name\tgrowing\tname\nT0_CH_CERN_MSS\t0\tNULL\nT2_CH_CERN\t1\tAnalysisOps\n')
  })
})

describe("the registry's MyISAM tables", () => {
  it('keep rows a transaction rolled back', async () => {
    await registry.beginTransaction()
    await registry.query(
      "INSERT INTO deletion_queue (file, site, status) VALUES ('/store/mc/x/rolled-back.root', 'T2_TEST', 'new')",
    )
    await registry.rollback()
    expect(await rows(registry, "SELECT file FROM deletion_queue WHERE site = 'T2_TEST'")).toEqual([
      { file: '/store/mc/x/rolled-back.root' },
    ])
  })

  it('keep the rows of a multi-row INSERT before the one refused', async () => {
    expect(
      await outcome(
        registry,
        "INSERT INTO deletion_queue (file, site, status) VALUES ('/store/mc/x/1.root', 'T2_TEST', 'new'), ('/store/mc/x/2.root', 'T2_TEST', 'queued'), ('/store/mc/x/3.root', 'T2_TEST', 'new')",
      ),
    ).toMatch(/^WARN_DATA_TRUNCATED/)
    expect(await rows(registry, "SELECT file FROM deletion_queue WHERE site = 'T2_TEST'")).toEqual([
      { file: '/store/mc/x/1.root' },
    ])
  })
})

describe('LFNs in latin1_general_cs columns', () => {
  // not UTF-8: one byte 0xFF; and the three bytes of U+FFFD, what a lossy UTF-8 decoding makes of it
  const RAW = Buffer.from('/store/mc/x/\xff.root', 'latin1')
  const REPLACED = Buffer.from('/store/mc/x/\xef\xbf\xbd.root', 'latin1')

  const bytesOf = async (conn: Connection, sql: string, params: unknown[] = []) =>
    (await rows<{ name: Buffer }>(conn, sql, params)).map((r) => r.name)

  it('keep the bytes of a name given as a Buffer, in files.name and deletion_queue.file', async () => {
    for (const [i, name] of [RAW, REPLACED].entries()) {
      await dynamo.query('INSERT INTO files (block_id, size, name) VALUES (1, ?, ?)', [i, name])
      await registry.query("INSERT INTO deletion_queue (file, site, status) VALUES (?, 'T2_TEST', 'new')", [name])
    }
    // both under the UNIQUE keys: the collation compares the bytes
    const files = await bytesOf(
      dynamo,
      "SELECT CAST(name AS BINARY) AS name FROM files WHERE name LIKE '/store/mc/x/%' ORDER BY size",
    )
    expect(files).toEqual([RAW, REPLACED])
    const queued = await bytesOf(
      registry,
      "SELECT CAST(file AS BINARY) AS name FROM deletion_queue WHERE site = 'T2_TEST' ORDER BY LENGTH(file)",
    )
    expect(queued).toEqual([RAW, REPLACED])
    // a Buffer finds its own row only
    for (const name of [RAW, REPLACED]) {
      expect(await bytesOf(dynamo, 'SELECT CAST(name AS BINARY) AS name FROM files WHERE name = ?', [name])).toEqual([
        name,
      ])
      expect(
        await bytesOf(registry, 'SELECT CAST(file AS BINARY) AS name FROM deletion_queue WHERE file = ?', [name]),
      ).toEqual([name])
    }
    // through the binary protocol too
    const [found] = (await dynamo.execute('SELECT CAST(name AS BINARY) AS name FROM files WHERE name = ?', [
      RAW,
    ])) as unknown as [{ name: Buffer }[]]
    expect(found.map((r) => r.name)).toEqual([RAW])
  })

  it("convert a name given as a string from the connection's character set", async () => {
    await dynamo.query('INSERT INTO files (block_id, size, name) VALUES (1, 0, ?)', [RAW])
    // U+00FF is the byte 0xFF in latin1: the same row
    expect(
      await bytesOf(dynamo, 'SELECT CAST(name AS BINARY) AS name FROM files WHERE name = ?', [
        '/store/mc/x/\u00ff.root',
      ]),
    ).toEqual([RAW])
    // and read as a string, the byte 0xFF comes back as U+00FF (two bytes in UTF-8)
    expect(await rows(dynamo, "SELECT name FROM files WHERE name LIKE '/store/mc/x/%'")).toEqual([
      { name: '/store/mc/x/\u00ff.root' },
    ])
    // U+FFFD has no latin1 byte: refused
    expect(
      await outcome(dynamo, 'INSERT INTO files (block_id, size, name) VALUES (1, 1, ?)', ['/store/mc/x/\ufffd.root']),
    ).toMatch(/^ER_TRUNCATED_WRONG_VALUE_FOR_FIELD: Incorrect string value: .* for column .*`name`/)
    // nor have U+0080 to U+009F, mostly: MariaDB's latin1 is Windows-1252, where the byte 0x82 is U+201A.
    // So a name's bytes (here the UTF-8 of '€', E2 82 AC) sent as one character a byte are refused,
    expect(
      await outcome(dynamo, 'INSERT INTO files (block_id, size, name) VALUES (1, 2, ?)', [
        Buffer.from('/store/mc/x/\u20ac.root', 'utf8').toString('latin1'),
      ]),
    ).toMatch(/^ER_TRUNCATED_WRONG_VALUE_FOR_FIELD: Incorrect string value/)
    // and those bytes stored (as a Buffer) come back as a string of other characters
    await dynamo.query('INSERT INTO files (block_id, size, name) VALUES (1, 3, ?)', [
      Buffer.from('/store/mc/x/\u20ac.root', 'utf8'),
    ])
    expect(await rows(dynamo, "SELECT name FROM files WHERE name LIKE '/store/mc/x/%' AND size = 3")).toEqual([
      { name: '/store/mc/x/\u00e2\u201a\u00ac.root' },
    ])
  })

  it('ignore spaces at the end of a name when comparing', async () => {
    await dynamo.query("INSERT INTO files (block_id, size, name) VALUES (1, 0, '/store/mc/x/a.root')")
    expect(
      await outcome(dynamo, "INSERT INTO files (block_id, size, name) VALUES (1, 1, '/store/mc/x/a.root ')"),
    ).toMatch(/^ER_DUP_ENTRY: Duplicate entry '\/store\/mc\/x\/a\.root ' for key 'name'/)
    expect(await rows(dynamo, "SELECT name FROM files WHERE name = '/store/mc/x/a.root  '")).toEqual([
      { name: '/store/mc/x/a.root' },
    ])
  })
})
