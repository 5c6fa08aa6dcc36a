/**
 * Dynamo over MySQL: the inventory database (`dynamo`: sites, datasets,
 * blocks, files, block and dataset replicas, groups, file subscriptions)
 * and the registry (`dynamoregister`: deletion and transfer queues, local
 * invalidations), read and written with direct SQL.
 */
import { config } from '../config'
import { DirectoryInfo } from '../datatypes'
import { CancelledError, ConfigError, native } from '../errors'
import * as binding from '../native'
import { DatabaseError, insertRows, MysqlSql, type Param, parseMysqlUrl, redact } from './sql'
import type { Backend, Copies, Inventory, MissingBlock, Registry, SiteInfo, TransferRequest } from './types'

const now = () => Math.floor(Date.now() / 1000)

/** Files of complete replicas owned by a group are old (0); the others get `?` (the listing time). */
export const SITE_FILES_QUERY = `SELECT f.name, f.size, IF(br.is_complete = 1 AND br.group_id <> 0, 0, ?)
FROM sites AS s
JOIN block_replicas AS br ON br.site_id = s.id
JOIN files AS f ON f.block_id = br.block_id
WHERE s.name = ?`

/** Rows handed to the native tree at once. */
const BATCH = 16_384

function chunks<T>(list: readonly T[], size = 500): T[][] {
  const out: T[][] = []
  for (let i = 0; i < list.length; i += size) out.push(list.slice(i, i + size))
  return out
}

const marks = (n: number) => Array(n).fill('?').join(', ')

/**
 * Stream the `(lfn, size, mtime)` rows of a query into `tree`, a batch at a
 * time: LFNs packed NUL-separated into one buffer, sizes and mtimes into
 * typed arrays; no row outlives its batch.
 */
export async function streamIntoTree(
  db: MysqlSql,
  tree: binding.Tree,
  sql: string,
  params: readonly Param[],
  signal?: AbortSignal,
): Promise<number> {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const mysql: typeof import('mysql2') = require('mysql2')
  // a connection of its own: the pool's promise wrapper would collect every row first
  const conn = mysql.createConnection({ ...db.target, supportBigNumbers: true, bigNumberStrings: false })
  let lfns: string[] = []
  let sizes = new Float64Array(BATCH)
  let mtimes = new Float64Array(BATCH)
  let total = 0
  const flush = () => {
    if (lfns.length === 0) return
    const buf = Buffer.from(`${lfns.join('\0')}\0`, 'utf8')
    const n = lfns.length
    native(() => tree.addFiles(buf, sizes.subarray(0, n), mtimes.subarray(0, n)))
    total += n
    lfns = []
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
        const i = lfns.length
        lfns.push(typeof lfn === 'string' ? lfn : lfn.toString('utf8'))
        sizes[i] = size === null ? -1 : Number(size)
        mtimes[i] = mtime === null ? 0 : Number(mtime)
        if (lfns.length === BATCH) {
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

class DynamoInventory implements Inventory {
  constructor(
    private readonly db: MysqlSql,
    private readonly registry: MysqlSql,
  ) {}

  async listFiles(site: string, options: { signal?: AbortSignal } = {}): Promise<DirectoryInfo> {
    const t = now()
    const tree = new binding.Tree(t)
    await streamIntoTree(this.db, tree, SITE_FILES_QUERY, [t, site], options.signal)
    return new DirectoryInfo(tree)
  }

  async protectedDatasets(site: string): Promise<string[]> {
    const rows = await this.db.all<{ name: string }>(
      `SELECT d.name FROM datasets AS d WHERE d.status = 'IGNORED'
       UNION
       SELECT d.name FROM dataset_replicas AS dr
         JOIN datasets AS d ON d.id = dr.dataset_id JOIN sites AS s ON s.id = dr.site_id
         WHERE s.name = ? AND dr.growing = 1
       UNION
       SELECT d.name FROM block_replicas AS br
         JOIN blocks AS b ON b.id = br.block_id JOIN datasets AS d ON d.id = b.dataset_id
         JOIN sites AS s ON s.id = br.site_id
         WHERE s.name = ? AND br.is_complete = 0
       UNION
       SELECT d.name FROM file_subscriptions AS fs
         JOIN files AS f ON f.id = fs.file_id JOIN blocks AS b ON b.id = f.block_id
         JOIN datasets AS d ON d.id = b.dataset_id JOIN sites AS s ON s.id = fs.site_id
         WHERE s.name = ? AND fs.\`delete\` = 0 AND fs.status NOT IN ('done', 'cancelled')`,
      [site, site, site],
    )
    return rows.map((r) => String(r.name))
  }

  async incomingFiles(site: string): Promise<string[]> {
    const subscribed = await this.db.all<{ name: string }>(
      `SELECT f.name FROM file_subscriptions AS fs
       JOIN files AS f ON f.id = fs.file_id JOIN sites AS s ON s.id = fs.site_id
       WHERE s.name = ? AND fs.\`delete\` = 0 AND fs.status NOT IN ('done', 'cancelled')`,
      [site],
    )
    const queued = await this.registry.all<{ file: string }>(
      `SELECT file FROM transfer_queue WHERE site_to = ? AND status IN ('new', 'inbatch')`,
      [site],
    )
    return [...subscribed.map((r) => String(r.name)), ...queued.map((r) => String(r.file))]
  }

  async deletionRequests(site: string): Promise<string[]> {
    const queued = await this.registry.all<{ file: string }>(
      `SELECT file FROM deletion_queue WHERE site = ? AND status IN ('new', 'inbatch')`,
      [site],
    )
    const subscribed = await this.db.all<{ name: string }>(
      `SELECT f.name FROM file_subscriptions AS fs
       JOIN files AS f ON f.id = fs.file_id JOIN sites AS s ON s.id = fs.site_id
       WHERE s.name = ? AND fs.\`delete\` = 1 AND fs.status NOT IN ('done', 'cancelled')`,
      [site],
    )
    return [...queued.map((r) => String(r.file)), ...subscribed.map((r) => String(r.name))]
  }

  async filelistToBlocklist(site: string, lfns: readonly string[]): Promise<MissingBlock[]> {
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
        [site, ...part],
      )
      for (const r of rows) {
        const b = blocks.get(r.block) ?? { block: String(r.block), group: r.grp ?? '', count: 0 }
        b.count += Number(r.n)
        blocks.set(r.block, b)
      }
    }
    return [...blocks.values()].sort((a, b) => b.count - a.count || (a.block < b.block ? -1 : 1))
  }

  async copiesElsewhere(site: string, lfns: readonly string[]): Promise<Map<string, Copies>> {
    const out = new Map<string, Copies>(lfns.map((l) => [l, { disk: [], tape: [] }]))
    for (const part of chunks(lfns)) {
      const rows = await this.db.all<{ lfn: string; site: string; storage_type: string }>(
        `SELECT f.name AS lfn, s.name AS site, s.storage_type
         FROM files AS f
         JOIN block_replicas AS br ON br.block_id = f.block_id JOIN sites AS s ON s.id = br.site_id
         WHERE f.name IN (${marks(part.length)}) AND s.name <> ? AND br.is_complete = 1
           AND s.storage_type IN ('disk', 'mss')
         ORDER BY s.name`,
        [...part, site],
      )
      for (const r of rows) out.get(String(r.lfn))?.[r.storage_type === 'mss' ? 'tape' : 'disk'].push(String(r.site))
    }
    return out
  }
}

class DynamoRegistry implements Registry {
  constructor(private readonly db: MysqlSql) {}

  delete(site: string, lfns: readonly string[]): Promise<number> {
    return this.db.transaction((tx) =>
      insertRows(
        tx,
        'INSERT IGNORE INTO deletion_queue (file, site, status, created)',
        lfns.map((l): Param[] => [l, site, 'new', now()]),
        '',
      ),
    )
  }

  transfer(site: string, requests: readonly TransferRequest[]): Promise<number> {
    return this.db.transaction((tx) =>
      insertRows(
        tx,
        'INSERT IGNORE INTO transfer_queue (file, site_from, site_to, status, created)',
        requests.map((r): Param[] => [r.lfn, r.source, site, 'new', now()]),
      ),
    )
  }

  invalidate(site: string, lfns: readonly string[]): Promise<number> {
    return this.db.transaction((tx) =>
      insertRows(
        tx,
        'INSERT INTO local_invalidations (site, lfn)',
        lfns.map((l): Param[] => [site, l]),
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
