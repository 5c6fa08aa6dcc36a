/**
 * Dynamo over MySQL: the inventory database (`dynamo`: sites, datasets,
 * blocks, files, block and dataset replicas, groups, file subscriptions)
 * and the registry (`dynamoregister`: deletion and transfer queues, local
 * invalidations), read and written with direct SQL.
 */
import { config } from '../config'
import { DirectoryInfo } from '../datatypes'
import { CancelledError, ConfigError } from '../errors'
import { datasetOf } from '../filters'
import { type Lfn, lfnBytes, lfnFromColumn, lfnFromText } from '../lfn'
import * as binding from '../native'
import { now } from '../time'
import { chunks } from './chunks'
import { DatabaseError, insertRows, MysqlSql, type Param, parseMysqlUrl, redact } from './sql'
import type {
  Backend,
  Copies,
  Inventory,
  MissingBlock,
  QueryOptions,
  Registry,
  SiteInfo,
  TransferRequest,
} from './types'

/**
 * Files of complete replicas owned by a group are old (0); the others get
 * `?` (the listing time). Names come as bytes (`CAST ... AS BINARY`): the
 * columns are latin1, and a conversion to the connection's character set
 * would change the bytes a name is.
 */
export const SITE_FILES_QUERY = `SELECT CAST(f.name AS BINARY), f.size, IF(br.is_complete = 1 AND br.group_id <> 0, 0, ?)
FROM sites AS s
JOIN block_replicas AS br ON br.site_id = s.id
JOIN files AS f ON f.block_id = br.block_id
WHERE s.name = ?`

/** Rows handed to the native tree at once. */
const BATCH = 16_384
const NUL = Buffer.alloc(1)

const marks = (n: number) => Array(n).fill('?').join(', ')
const lfnParams = (lfns: readonly Lfn[]) => lfns.map(lfnBytes)

/**
 * Stream the `(lfn, size, mtime)` rows of a query into `tree`, a batch at a
 * time: LFN bytes packed NUL-separated into one buffer, sizes and mtimes
 * into typed arrays; no row outlives its batch.
 */
export async function streamIntoTree(
  db: MysqlSql,
  tree: binding.Tree,
  sql: string,
  params: readonly Param[],
  signal?: AbortSignal,
): Promise<number> {
  const mysql: typeof import('mysql2') = require('mysql2')
  // a connection of its own: the pool's promise wrapper would collect every row first
  const conn = mysql.createConnection({ ...db.target, supportBigNumbers: true, bigNumberStrings: false })
  let names: Buffer[] = []
  let sizes = new Float64Array(BATCH)
  let mtimes = new Float64Array(BATCH)
  let total = 0
  const flush = () => {
    const n = names.length / 2
    if (n === 0) return
    const buf = Buffer.concat(names)
    tree.addFiles(buf, sizes.subarray(0, n), mtimes.subarray(0, n))
    total += n
    names = []
    sizes = new Float64Array(BATCH)
    mtimes = new Float64Array(BATCH)
  }
  try {
    await new Promise<void>((resolve, reject) => {
      let failed = false
      const fail = (err: unknown) => {
        if (failed) return
        failed = true
        reject(err)
      }
      const onAbort = () => {
        fail(new CancelledError('E_CANCELLED', 'the inventory listing was cancelled'))
        conn.destroy()
      }
      if (signal?.aborted) return onAbort()
      signal?.addEventListener('abort', onAbort, { once: true })
      const query = conn.query({ sql, values: [...params], rowsAsArray: true })
      query.on('result', (row: unknown) => {
        if (failed) return
        const [lfn, size, mtime] = row as [string | Buffer, number | string | null, number | string | null]
        const i = names.length / 2
        names.push(typeof lfn === 'string' ? lfnBytes(lfnFromText(lfn)) : lfn, NUL)
        sizes[i] = size === null ? -1 : Number(size)
        mtimes[i] = mtime === null ? 0 : Number(mtime)
        if (i + 1 === BATCH) {
          try {
            flush()
          } catch (err) {
            fail(err)
            conn.destroy()
          }
        }
      })
      query.on('error', (err: Error) => fail(new DatabaseError(`${db.where}: ${err.message} (listing a site's files)`)))
      query.on('end', () => {
        signal?.removeEventListener('abort', onAbort)
        if (!failed) resolve()
      })
    })
    flush()
  } finally {
    conn.destroy()
  }
  return total
}

/** The dataset names of LFN rows, as the CMS naming rule reads them. */
function datasetsOfFiles(rows: { lfn: unknown }[]): Lfn[] {
  const out = new Set<Lfn>()
  for (const r of rows) {
    const d = datasetOf(lfnFromColumn(r.lfn))
    if (d !== null) out.add(d)
  }
  return [...out]
}

class DynamoInventory implements Inventory {
  constructor(
    private readonly db: MysqlSql,
    private readonly registry: MysqlSql,
  ) {}

  async listFiles(site: string, options: QueryOptions = {}): Promise<DirectoryInfo> {
    const t = now()
    const tree = new binding.Tree(t)
    await streamIntoTree(this.db, tree, SITE_FILES_QUERY, [t, site], options.signal)
    return new DirectoryInfo(tree)
  }

  /** The original's `protected_datasets`, query for query. */
  async protectedDatasets(site: string, options: QueryOptions = {}): Promise<Lfn[]> {
    const rows = await this.db.all<{ name: Buffer }>(
      `SELECT CAST(d.name AS BINARY) AS name FROM sites AS s
         JOIN dataset_replicas AS dr ON dr.site_id = s.id JOIN datasets AS d ON d.id = dr.dataset_id
         WHERE s.name = ?
       UNION
       SELECT CAST(name AS BINARY) FROM datasets WHERE status = 'IGNORED'
       UNION
       SELECT CAST(d.name AS BINARY) FROM file_subscriptions AS u
         JOIN files AS f ON f.id = u.file_id JOIN blocks AS b ON b.id = f.block_id
         JOIN datasets AS d ON d.id = b.dataset_id JOIN sites AS s ON s.id = u.site_id
         WHERE s.name = ? AND u.\`delete\` = 0`,
      [site, site],
      options,
    )
    return rows.map((r) => lfnFromColumn(r.name))
  }

  async alwaysProtectedDatasets(site: string, options: QueryOptions = {}): Promise<Lfn[]> {
    const rows = await this.db.all<{ name: Buffer }>(
      `SELECT CAST(name AS BINARY) AS name FROM datasets WHERE status = 'IGNORED'
       UNION
       SELECT CAST(d.name AS BINARY) FROM file_subscriptions AS u
         JOIN files AS f ON f.id = u.file_id JOIN blocks AS b ON b.id = f.block_id
         JOIN datasets AS d ON d.id = b.dataset_id JOIN sites AS s ON s.id = u.site_id
         WHERE s.name = ? AND u.\`delete\` = 0`,
      [site],
      options,
    )
    return rows.map((r) => lfnFromColumn(r.name))
  }

  async incomingFiles(site: string, options: QueryOptions = {}): Promise<Lfn[]> {
    const subscribed = await this.db.all<{ lfn: Buffer }>(
      `SELECT CAST(f.name AS BINARY) AS lfn FROM file_subscriptions AS u
       JOIN files AS f ON f.id = u.file_id JOIN sites AS s ON s.id = u.site_id
       WHERE s.name = ? AND u.\`delete\` = 0 AND u.status NOT IN ('done', 'cancelled')`,
      [site],
      options,
    )
    const queued = await this.registry.all<{ lfn: Buffer }>(
      `SELECT CAST(file AS BINARY) AS lfn FROM transfer_queue WHERE site_to = ? AND status IN ('new', 'inbatch')`,
      [site],
      options,
    )
    return [...subscribed, ...queued].map((r) => lfnFromColumn(r.lfn))
  }

  /**
   * Datasets of the files Dynamo is deleting at the site: deletion
   * subscriptions not done nor cancelled, and Dynamo's own deletion queue
   * rows (a request id; the check's requests have none).
   */
  async deletionRequests(site: string, options: QueryOptions = {}): Promise<Lfn[]> {
    const subscribed = await this.db.all<{ lfn: Buffer }>(
      `SELECT CAST(f.name AS BINARY) AS lfn FROM file_subscriptions AS u
       JOIN files AS f ON f.id = u.file_id JOIN sites AS s ON s.id = u.site_id
       WHERE s.name = ? AND u.\`delete\` = 1 AND u.status NOT IN ('done', 'cancelled')`,
      [site],
      options,
    )
    const queued = await this.registry.all<{ lfn: Buffer }>(
      `SELECT CAST(file AS BINARY) AS lfn FROM deletion_queue
       WHERE site = ? AND reqid <> 0 AND status IN ('new', 'inbatch')`,
      [site],
      options,
    )
    return datasetsOfFiles([...subscribed, ...queued])
  }

  async filelistToBlocklist(site: string, lfns: readonly Lfn[], options: QueryOptions = {}): Promise<MissingBlock[]> {
    const blocks = new Map<string, MissingBlock>()
    for (const part of chunks(lfns)) {
      const rows = await this.db.all<{ block: string; grp: string | null; n: number }>(
        `SELECT CONCAT(d.name, '#', b.name) AS block, g.name AS grp, COUNT(*) AS n
         FROM files AS f
         JOIN blocks AS b ON b.id = f.block_id JOIN datasets AS d ON d.id = b.dataset_id
         JOIN block_replicas AS br ON br.block_id = b.id JOIN sites AS s ON s.id = br.site_id
         LEFT JOIN \`groups\` AS g ON g.id = br.group_id
         WHERE s.name = ? AND f.name IN (${marks(part.length)})
         GROUP BY block, grp`,
        [site, ...lfnParams(part)],
        options,
      )
      for (const r of rows) {
        const b = blocks.get(r.block) ?? { block: String(r.block), group: r.grp ?? '', count: 0 }
        b.count += Number(r.n)
        blocks.set(r.block, b)
      }
    }
    return [...blocks.values()].sort((a, b) => b.count - a.count || (a.block < b.block ? -1 : 1))
  }

  /** As the original's registry: complete replicas owned by a group, at ready sites. */
  async copiesElsewhere(site: string, lfns: readonly Lfn[], options: QueryOptions = {}): Promise<Map<Lfn, Copies>> {
    const out = new Map<Lfn, Copies>(lfns.map((l) => [l, { disk: [], tape: [] }]))
    for (const part of chunks(lfns)) {
      const rows = await this.db.all<{ lfn: Buffer; site: string; storage_type: string }>(
        `SELECT CAST(f.name AS BINARY) AS lfn, s.name AS site, s.storage_type
         FROM files AS f
         JOIN block_replicas AS br ON br.block_id = f.block_id JOIN sites AS s ON s.id = br.site_id
         WHERE f.name IN (${marks(part.length)}) AND s.name <> ? AND s.status = 'ready'
           AND br.is_complete = 1 AND br.group_id <> 0
         ORDER BY s.name`,
        [...lfnParams(part), site],
        options,
      )
      for (const r of rows) {
        out.get(lfnFromColumn(r.lfn))?.[r.storage_type === 'mss' ? 'tape' : 'disk'].push(String(r.site))
      }
    }
    return out
  }
}

/** The width of the `file` column of Dynamo's queues, in bytes. */
const QUEUE_FILE_BYTES = 512
const fitsQueue = (lfn: Lfn) => lfnBytes(lfn).length <= QUEUE_FILE_BYTES

/**
 * The registry's queues are MyISAM tables: no transaction spans a batch.
 * Every request is written so that writing it again changes nothing (a
 * duplicate key leaves the queued row as it is), so a run stopped half way
 * through a batch is completed by the next run's requests, which the
 * summary store has not marked acted on.
 */
class DynamoRegistry implements Registry {
  constructor(private readonly db: MysqlSql) {}

  /**
   * As the original: `reqid` 0 (the check's own), `created` by the
   * column's default. A name longer than the queue's `file` column (512
   * bytes) is asked for by no row: the table would refuse it, and with it
   * every later request of the site, run after run.
   */
  delete(site: string, lfns: readonly Lfn[]): Promise<number> {
    return this.db.transaction((tx) =>
      insertRows(
        tx,
        'INSERT INTO deletion_queue (reqid, file, site, status)',
        lfns.filter(fitsQueue).map((l): Param[] => [0, lfnBytes(l), site, 'new']),
        'ON DUPLICATE KEY UPDATE reqid = reqid',
      ),
    )
  }

  transfer(site: string, requests: readonly TransferRequest[]): Promise<number> {
    return this.db.transaction((tx) =>
      insertRows(
        tx,
        'INSERT INTO transfer_queue (reqid, file, site_from, site_to, status)',
        requests.filter((r) => fitsQueue(r.lfn)).map((r): Param[] => [0, lfnBytes(r.lfn), r.source, site, 'new']),
        'ON DUPLICATE KEY UPDATE reqid = reqid',
      ),
    )
  }

  invalidate(site: string, lfns: readonly Lfn[]): Promise<number> {
    return this.db.transaction((tx) =>
      insertRows(
        tx,
        'INSERT INTO local_invalidations (site, lfn)',
        lfns.map((l): Param[] => [site, lfnBytes(l)]),
      ),
    )
  }
}

class DynamoSiteInfo implements SiteInfo {
  constructor(private readonly db: MysqlSql) {}

  async siteList(): Promise<string[]> {
    return (await this.db.all<{ name: string }>('SELECT name FROM sites ORDER BY name')).map((r) => String(r.name))
  }

  async readySites(): Promise<string[]> {
    const rows = await this.db.all<{ name: string }>(`SELECT name FROM sites WHERE status = 'ready' ORDER BY name`)
    return rows.map((r) => String(r.name))
  }
}

/** The registry URL: the configured one, or database `dynamoregister` on the inventory's server. */
export function registryUrl(inventoryUrl: string, configured: string): string {
  if (configured) return configured
  const u = new URL(inventoryUrl)
  u.pathname = '/dynamoregister'
  return u.toString()
}

/** Dynamo's inventory and registry over MySQL. */
export class DynamoBackend implements Backend {
  readonly name = 'dynamo'
  readonly inventory: DynamoInventory
  readonly registry: Registry
  readonly siteinfo: SiteInfo
  readonly db: MysqlSql
  readonly registryDb: MysqlSql

  constructor(inventoryUrl = config.get<string>('DynamoDatabase'), registry = config.get<string>('DynamoRegistry')) {
    if (!inventoryUrl) {
      throw new ConfigError(
        `InventoryBackend is dynamo but DynamoDatabase is not set in ${config.LOCATION ?? 'the configuration'}`,
      )
    }
    parseMysqlUrl(inventoryUrl, 'DynamoDatabase')
    this.db = new MysqlSql(inventoryUrl, `DynamoDatabase ${redact(inventoryUrl)}`)
    const regUrl = registryUrl(inventoryUrl, registry)
    this.registryDb = new MysqlSql(regUrl, `DynamoRegistry ${redact(regUrl)}`)
    this.inventory = new DynamoInventory(this.db, this.registryDb)
    this.registry = new DynamoRegistry(this.registryDb)
    this.siteinfo = new DynamoSiteInfo(this.db)
  }

  async checkSite(site: string): Promise<boolean> {
    const rows = await this.db.all<{ n: number }>(
      `SELECT COUNT(*) AS n FROM sites WHERE name = ? AND status = 'ready' AND storage_type <> 'mss'`,
      [site],
    )
    return Number(rows[0]?.n ?? 0) > 0
  }

  async close(): Promise<void> {
    await Promise.all([this.db.close(), this.registryDb.close()])
  }
}
