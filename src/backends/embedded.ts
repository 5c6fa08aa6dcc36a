/**
 * The embedded inventory and registry: one SQLite file (by default
 * `VarLocation/inventory.db`) with this schema.
 *
 * | table | holds |
 * |---|---|
 * | `sites(name, storage_type, status)` | every site; `storage_type` disk, mss (tape), buffer or unknown; `status` ready, waitroom, morgue or unknown |
 * | `replicas(site, lfn, size, block, grp, complete)` | one row per file per site; `block` is `/Primary/Era-Proc-v1/TIER#uuid` ('' unknown), `grp` the owning group ('' unowned), `complete` 1 when the block replica is complete |
 * | `protected_datasets(site, dataset)` | datasets whose files at the site (`*`: every site, as Dynamo's `IGNORED` status) are never deleted as orphans |
 * | `deletion_requests(site, dataset)` | datasets the data-management system is deleting at the site: their files are neither missing nor the check's to delete |
 * | `deletion_queue(reqid, file, site, status, created)` | deletion requests, as Dynamo's registry (`status` new, inbatch, done, failed) |
 * | `transfer_queue(reqid, file, site_from, site_to, status, created)` | transfer requests, likewise |
 * | `local_invalidations(id, site, lfn, created)` | files declared lost at a site |
 *
 * LFNs are stored as text of their exact bytes (bound from a `Buffer`).
 * Files of complete replicas owned by a group are old (mtime 0); the
 * others get the listing time. The rules are Dynamo's: a dataset is
 * protected at a site that holds a replica of it (a `replicas` row whose
 * block names it), and transfers start from complete, owned replicas at
 * ready sites. `importListing` fills a site's replicas
 * from a listing file.
 */
import * as path from 'node:path'
import { config } from '../config'
import { DirectoryInfo } from '../datatypes'
import { CancelledError, ConfigError } from '../errors'
import { datasetOf } from '../filters'
import { type Lfn, lfnBytes, lfnForDisplay, lfnFromColumn } from '../lfn'
import * as binding from '../native'
import { now } from '../time'
import { chunks } from './chunks'
import { insertRows, type Param, SqliteSql } from './sql'
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

export const EMBEDDED_SCHEMA = `
CREATE TABLE IF NOT EXISTS sites (
  name TEXT PRIMARY KEY,
  storage_type TEXT NOT NULL DEFAULT 'disk' CHECK (storage_type IN ('disk', 'mss', 'buffer', 'unknown')),
  status TEXT NOT NULL DEFAULT 'ready' CHECK (status IN ('ready', 'waitroom', 'morgue', 'unknown'))
);
CREATE TABLE IF NOT EXISTS replicas (
  site TEXT NOT NULL,
  lfn TEXT NOT NULL,
  size INTEGER,
  block TEXT NOT NULL DEFAULT '',
  grp TEXT NOT NULL DEFAULT '',
  complete INTEGER NOT NULL DEFAULT 1,
  PRIMARY KEY (site, lfn)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS protected_datasets (
  site TEXT NOT NULL,
  dataset TEXT NOT NULL,
  PRIMARY KEY (site, dataset)
);
CREATE TABLE IF NOT EXISTS deletion_requests (
  site TEXT NOT NULL,
  dataset TEXT NOT NULL,
  PRIMARY KEY (site, dataset)
);
CREATE TABLE IF NOT EXISTS deletion_queue (
  reqid INTEGER PRIMARY KEY,
  file TEXT NOT NULL,
  site TEXT NOT NULL,
  status TEXT NOT NULL DEFAULT 'new' CHECK (status IN ('new', 'done', 'failed', 'inbatch')),
  created INTEGER NOT NULL,
  UNIQUE (file, site)
);
CREATE TABLE IF NOT EXISTS transfer_queue (
  reqid INTEGER PRIMARY KEY,
  file TEXT NOT NULL,
  site_from TEXT NOT NULL,
  site_to TEXT NOT NULL,
  status TEXT NOT NULL DEFAULT 'new' CHECK (status IN ('new', 'done', 'failed', 'inbatch')),
  created INTEGER NOT NULL,
  UNIQUE (site_from, site_to, file)
);
CREATE TABLE IF NOT EXISTS local_invalidations (
  id INTEGER PRIMARY KEY,
  site TEXT NOT NULL,
  lfn TEXT NOT NULL,
  created INTEGER NOT NULL,
  UNIQUE (site, lfn)
);
`

/** The embedded database file the configuration names. */
export function embeddedInventoryPath(): string {
  const configured = config.get<string>('InventoryDatabase')
  if (configured) return config.relativePath(configured)
  return path.join(config.resolvePath('VarLocation'), 'inventory.db')
}

/** Open (creating when absent) the embedded inventory database. */
export function openEmbeddedDatabase(file: string = embeddedInventoryPath()): SqliteSql {
  require('node:fs').mkdirSync(path.dirname(file), { recursive: true })
  const db = new SqliteSql(file)
  db.native.exec(EMBEDDED_SCHEMA)
  return db
}

const marks = (n: number) => Array(n).fill('?').join(', ')

const lfnParams = (lfns: readonly Lfn[]) => lfns.map(lfnBytes)

/**
 * The statements here run on the JavaScript thread, each over an index:
 * an abort is heard between them.
 */
function stopIfAborted(options: QueryOptions): void {
  if (options.signal?.aborted) throw new CancelledError('E_CANCELLED', 'the inventory query was cancelled')
}

export class EmbeddedInventory implements Inventory {
  constructor(private readonly db: SqliteSql) {}

  async listFiles(site: string, options: QueryOptions = {}): Promise<DirectoryInfo> {
    const t = now()
    const tree = new binding.Tree(t)
    const sql = `SELECT lfn, size, CASE WHEN complete = 1 AND grp <> '' THEN 0 ELSE ? END FROM replicas WHERE site = ?`
    await this.db.withNative((db) =>
      binding.nativeTask('the inventory listing', options.signal, (signal) =>
        db.fillTreeAsync(tree, sql, [t, site], signal),
      ),
    )
    return new DirectoryInfo(tree)
  }

  async protectedDatasets(site: string, options: QueryOptions = {}): Promise<Lfn[]> {
    stopIfAborted(options)
    const rows = await this.db.all<{ dataset: unknown }>(
      `SELECT dataset FROM protected_datasets WHERE site IN (?, '*')
       UNION
       SELECT substr(block, 1, instr(block, '#') - 1) FROM replicas WHERE site = ? AND instr(block, '#') > 1`,
      [site, site],
    )
    return rows.map((r) => lfnFromColumn(r.dataset))
  }

  async alwaysProtectedDatasets(site: string, options: QueryOptions = {}): Promise<Lfn[]> {
    stopIfAborted(options)
    const rows = await this.db.all<{ dataset: unknown }>(
      `SELECT dataset FROM protected_datasets WHERE site IN (?, '*')`,
      [site],
    )
    return rows.map((r) => lfnFromColumn(r.dataset))
  }

  async deletionRequests(site: string, options: QueryOptions = {}): Promise<Lfn[]> {
    stopIfAborted(options)
    const rows = await this.db.all<{ dataset: unknown }>(`SELECT dataset FROM deletion_requests WHERE site = ?`, [site])
    return rows.map((r) => lfnFromColumn(r.dataset))
  }

  async filelistToBlocklist(site: string, lfns: readonly Lfn[], options: QueryOptions = {}): Promise<MissingBlock[]> {
    const blocks = new Map<string, MissingBlock>()
    for (const part of chunks(lfns)) {
      stopIfAborted(options)
      const rows = await this.db.all<{ lfn: unknown; block: string; grp: string }>(
        `SELECT lfn, block, grp FROM replicas WHERE site = ? AND lfn IN (${marks(part.length)})`,
        [site, ...lfnParams(part)],
      )
      for (const r of rows) {
        const lfn = lfnFromColumn(r.lfn)
        const block = r.block || `${lfnForDisplay(datasetOf(lfn) ?? (path.posix.dirname(lfn) as Lfn))}#`
        const b = blocks.get(block) ?? { block, group: r.grp, count: 0 }
        b.count++
        blocks.set(block, b)
      }
    }
    return [...blocks.values()].sort((a, b) => b.count - a.count || (a.block < b.block ? -1 : 1))
  }

  async copiesElsewhere(site: string, lfns: readonly Lfn[], options: QueryOptions = {}): Promise<Map<Lfn, Copies>> {
    const out = new Map<Lfn, Copies>(lfns.map((l) => [l, { disk: [], tape: [] }]))
    const sites = await this.db.all<{ name: string; storage_type: string }>(
      `SELECT name, storage_type FROM sites WHERE name <> ? AND status = 'ready' ORDER BY name`,
      [site],
    )
    for (const other of sites) {
      for (const part of chunks(lfns)) {
        stopIfAborted(options)
        // the primary key (site, lfn) answers each of these without a scan
        const rows = await this.db.all<{ lfn: unknown }>(
          `SELECT lfn FROM replicas WHERE site = ? AND complete = 1 AND grp <> '' AND lfn IN (${marks(part.length)})`,
          [other.name, ...lfnParams(part)],
        )
        for (const r of rows) {
          out.get(lfnFromColumn(r.lfn))?.[other.storage_type === 'mss' ? 'tape' : 'disk'].push(other.name)
        }
      }
    }
    return out
  }

  /** LFNs being transferred to the site (not yet in its inventory, maybe already on its storage). */
  async incomingFiles(site: string, options: QueryOptions = {}): Promise<Lfn[]> {
    stopIfAborted(options)
    const rows = await this.db.all<{ file: unknown }>(
      `SELECT file FROM transfer_queue WHERE site_to = ? AND status IN ('new', 'inbatch')`,
      [site],
    )
    return rows.map((r) => lfnFromColumn(r.file))
  }
}

/** Requests already queued are left as they are, so asking again changes nothing. */
class EmbeddedRegistry implements Registry {
  constructor(private readonly db: SqliteSql) {}

  delete(site: string, lfns: readonly Lfn[]): Promise<number> {
    const t = now()
    return this.db.transaction((tx) =>
      insertRows(
        tx,
        'INSERT INTO deletion_queue (file, site, status, created)',
        lfns.map((l): Param[] => [lfnBytes(l), site, 'new', t]),
        'ON CONFLICT (file, site) DO NOTHING',
      ),
    )
  }

  transfer(site: string, requests: readonly TransferRequest[]): Promise<number> {
    const t = now()
    return this.db.transaction((tx) =>
      insertRows(
        tx,
        'INSERT INTO transfer_queue (file, site_from, site_to, status, created)',
        requests.map((r): Param[] => [lfnBytes(r.lfn), r.source, site, 'new', t]),
        'ON CONFLICT (site_from, site_to, file) DO NOTHING',
      ),
    )
  }

  invalidate(site: string, lfns: readonly Lfn[]): Promise<number> {
    const t = now()
    return this.db.transaction((tx) =>
      insertRows(
        tx,
        'INSERT INTO local_invalidations (site, lfn, created)',
        lfns.map((l): Param[] => [site, lfnBytes(l), t]),
        'ON CONFLICT (site, lfn) DO NOTHING',
      ),
    )
  }
}

class EmbeddedSiteInfo implements SiteInfo {
  constructor(private readonly db: SqliteSql) {}

  async siteList(): Promise<string[]> {
    return (await this.db.all<{ name: string }>('SELECT name FROM sites ORDER BY name')).map((r) => r.name)
  }

  async readySites(): Promise<string[]> {
    const rows = await this.db.all<{ name: string }>(`SELECT name FROM sites WHERE status = 'ready' ORDER BY name`)
    return rows.map((r) => r.name)
  }
}

/** The embedded SQLite back end (the default). */
export class EmbeddedBackend implements Backend {
  readonly name: string = 'sqlite'
  readonly inventory: Inventory
  readonly registry: Registry
  readonly siteinfo: SiteInfo

  constructor(
    readonly db: SqliteSql = openEmbeddedDatabase(),
    inventory?: Inventory,
  ) {
    this.inventory = inventory ?? new EmbeddedInventory(db)
    this.registry = new EmbeddedRegistry(db)
    this.siteinfo = new EmbeddedSiteInfo(db)
  }

  async checkSite(site: string): Promise<boolean> {
    const rows = await this.db.all<{ n: number }>(
      `SELECT count(*) AS n FROM sites WHERE name = ? AND status = 'ready' AND storage_type <> 'mss'`,
      [site],
    )
    return (rows[0]?.n ?? 0) > 0
  }

  close(): Promise<void> {
    return this.db.close()
  }
}

export interface ImportOptions {
  /** Remove the site's other replicas first. @default true */
  replace?: boolean
  /** The owning group of the imported replicas ('' makes them unowned, so never missing). @default 'local' */
  group?: string
  /** Whether the imported replicas are complete. @default true */
  complete?: boolean
  storageType?: 'disk' | 'mss' | 'buffer' | 'unknown'
}

/**
 * Fill a site's replicas in the embedded inventory from a listing file
 * (`LFN|size|mtime` and the other forms `compare` reads), in one
 * transaction. Returns the number of files imported.
 */
export async function importListing(
  db: SqliteSql,
  site: string,
  file: string,
  options: ImportOptions = {},
): Promise<number> {
  if (!site || /\s/.test(site)) throw new ConfigError(`not a site name: ${JSON.stringify(site)}`)
  const listing = await DirectoryInfo.fromListing(file)
  return db.transaction(async (tx) => {
    await tx.run(`INSERT INTO sites (name, storage_type) VALUES (?, ?) ON CONFLICT (name) DO NOTHING`, [
      site,
      options.storageType ?? 'disk',
    ])
    if (options.replace ?? true) await tx.run('DELETE FROM replicas WHERE site = ?', [site])
    return db.native.insertTree(
      listing.tree,
      `INSERT INTO replicas (site, lfn, size, block, grp, complete) VALUES (?4, ?1, ?2, '', ?5, ?6)
       ON CONFLICT (site, lfn) DO UPDATE SET size = excluded.size, grp = excluded.grp, complete = excluded.complete`,
      [site, options.group ?? 'local', (options.complete ?? true) ? 1 : 0],
    )
  })
}
