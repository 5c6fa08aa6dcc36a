/**
 * Dynamo's schema (`fixtures/dynamo/schema.sql`) loaded with the check
 * fixture site: sites, groups, datasets, blocks with UUIDs, files, complete
 * and incomplete block replicas, dataset replicas, an IGNORED dataset, a
 * file being transferred, and deletion requests in the registry. Every row
 * is one Dynamo's tables take in strict SQL mode: each NOT NULL column
 * without a default is given, dates are dates. The `insert*` functions make
 * the statements for more rows of the same kinds.
 */
import * as fs from 'node:fs'
import * as path from 'node:path'
import { FIXTURE, inventoryRows, SITE } from './check-site'
import type { MariaDb } from './mariadb'

export const SCHEMA_FILE = path.resolve(__dirname, '..', 'fixtures', 'dynamo', 'schema.sql')
export const TAU_DELETION = '/store/data/Run2018A/Tau/MINIAOD/17Sep2018-v1/20000/T0.root'
export const DELETING = '/store/data/Run2018A/EGamma/MINIAOD/17Sep2018-v1/20000/DELETING.root'
/** When the fixture's inventory rows were last updated, and its registry rows created. */
export const LAST_UPDATE = '2018-10-01 12:00:00'
/** The fixture's sites: name, storage type, status. */
export const SITES: [string, StorageType, SiteStatus][] = [
  [SITE, 'disk', 'ready'],
  ['T1_US_FNAL_Disk', 'disk', 'ready'],
  ['T1_US_FNAL_MSS', 'mss', 'ready'],
  ['T2_DE_DESY', 'disk', 'morgue'],
]

export type StorageType = 'disk' | 'mss' | 'buffer' | 'unknown'
export type SiteStatus = 'ready' | 'waitroom' | 'morgue' | 'unknown'
export type DatasetStatus = 'UNKNOWN' | 'DELETED' | 'DEPRECATED' | 'INVALID' | 'PRODUCTION' | 'VALID' | 'IGNORED'
export type SubscriptionStatus = 'new' | 'inbatch' | 'done' | 'retry' | 'held' | 'cancelled'

/** A string literal for SQL. */
export const q = (s: string) => `'${s.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`

export interface Transfer {
  lfn: string
  size: number
  source: string
  destination: string
  block: string
}

export function transfers(): Transfer[] {
  return fs
    .readFileSync(path.join(FIXTURE, 'transfers.txt'), 'utf8')
    .split('\n')
    .filter((l) => l.trim() && !l.startsWith('#'))
    .map((l) => {
      const [lfn, size, source, destination, block] = l.split('|') as [string, string, string, string, string]
      return { lfn, size: Number(size), source, destination, block }
    })
}

/** The id of site `name` (a subquery). */
export const siteId = (name: string) => `(SELECT id FROM sites WHERE name = ${q(name)})`
/** The id of group `name`, 0 (no group) for '' (a subquery). */
export const groupId = (name: string) => (name ? `(SELECT id FROM \`groups\` WHERE name = ${q(name)})` : '0')
/** The id of block `dataset#uuid` (a subquery). */
export function blockId(block: string): string {
  const [d, uuid] = block.split('#') as [string, string]
  return `(SELECT b.id FROM blocks AS b JOIN datasets AS d ON d.id = b.dataset_id WHERE d.name = ${q(d)} AND b.name = ${q(uuid)})`
}
/** The id of the file of LFN `lfn` (a subquery). */
export const fileId = (lfn: string) => `(SELECT id FROM files WHERE name = ${q(lfn)})`

export interface SiteRow {
  name: string
  /** 'disk' unless given. */
  storageType?: StorageType
  /** 'ready' unless given. */
  status?: SiteStatus
  host?: string
  backend?: string
}

/** A row of `dynamo.sites`. */
export function insertSite(site: SiteRow): string {
  const value = (v: string | undefined) => (v === undefined ? 'NULL' : q(v))
  return `INSERT INTO sites (name, host, storage_type, backend, status) VALUES (${q(site.name)}, ${value(site.host)}, '${site.storageType ?? 'disk'}', ${value(site.backend)}, '${site.status ?? 'ready'}');`
}

/** A row of `dynamo.datasets` (a closed production dataset, VALID unless given). */
export function insertDataset(name: string, status: DatasetStatus = 'VALID'): string {
  return `INSERT INTO datasets (name, status, data_type, software_version_id, last_update, is_open) VALUES (${q(name)}, '${status}', 'PRODUCTION', 0, '${LAST_UPDATE}', 0);`
}

/**
 * A row of `dynamo.dataset_replicas`, or, when there is one, the replica
 * made growing if `growing`. Dynamo gives a growing replica its group and
 * the others none (NULL).
 */
export function insertDatasetReplica(dataset: string, site: string, growing = false, group = ''): string {
  const g = growing ? groupId(group) : 'NULL'
  return `INSERT INTO dataset_replicas (dataset_id, site_id, growing, group_id) SELECT id, ${siteId(site)}, ${growing ? 1 : 0}, ${g} FROM datasets WHERE name = ${q(dataset)} ON DUPLICATE KEY UPDATE group_id = IF(growing = 1, group_id, VALUES(group_id)), growing = growing OR VALUES(growing);`
}

/** A row of `dynamo.block_replicas` (group '' is none, id 0). */
export function insertBlockReplica(
  block: string,
  site: string,
  group: string,
  complete: boolean,
  custodial = false,
): string {
  return `INSERT INTO block_replicas (block_id, site_id, group_id, is_custodial, last_update, is_complete) VALUES (${blockId(block)}, ${siteId(site)}, ${groupId(group)}, ${custodial ? 1 : 0}, '${LAST_UPDATE}', ${complete ? 1 : 0});`
}

export interface Subscription {
  lfn: string
  site: string
  /** A deletion (1) rather than a transfer (0). */
  delete?: boolean
  status?: SubscriptionStatus
  holdReason?: 'no_source' | 'all_failed' | 'site_unavailable'
}

/** A row of `dynamo.file_subscriptions`: file `lfn` to (or, `delete`, from) `site`. */
export function insertFileSubscription(s: Subscription): string {
  const status = s.status ?? 'new'
  const updated = status === 'new' ? 'NULL' : `'${LAST_UPDATE}'`
  const hold = s.holdReason === undefined ? 'NULL' : `'${s.holdReason}'`
  return `INSERT INTO file_subscriptions (file_id, site_id, status, created, last_update, \`delete\`, hold_reason) VALUES (${fileId(s.lfn)}, ${siteId(s.site)}, '${status}', '${LAST_UPDATE}', ${updated}, ${s.delete ? 1 : 0}, ${hold});`
}

/**
 * A row of `dynamoregister.deletion_queue` created at LAST_UPDATE: Dynamo's
 * own request `reqid`, or 0 for a request as the consistency check writes it.
 */
export function insertDeletion(lfn: string, site: string, reqid = 0): string {
  return `INSERT INTO deletion_queue (reqid, file, site, status, created) VALUES (${reqid}, ${q(lfn)}, ${q(site)}, 'new', '${LAST_UPDATE}');`
}

/**
 * An extra site: a name (a disk site, ready, holding what the checked site
 * holds), or a row of its own, which holds nothing unless `holds`.
 */
export type ExtraSite = string | (SiteRow & { holds?: boolean })

/** SQL that fills Dynamo's tables with the fixture (after the schema). */
export function fixtureSql(extraSites: ExtraSite[] = []): string {
  const extra = extraSites.map((s) => (typeof s === 'string' ? { name: s, holds: true } : s))
  const out: string[] = ['USE dynamo;']
  for (const [name, storageType, status] of SITES) out.push(insertSite({ name, storageType, status }))
  for (const s of extra) out.push(insertSite(s))
  out.push(`INSERT INTO \`groups\` (id, name, olevel) VALUES (1, 'DataOps', 'Block'), (2, 'AnalysisOps', 'Block');`)
  const rows = inventoryRows()
  const files = new Map<string, { size: number; block: string }>()
  for (const r of rows) files.set(r.lfn, { size: r.size, block: r.block })
  for (const t of transfers()) files.set(t.lfn, { size: t.size, block: t.block })
  const blocks = new Map<string, { size: number; files: number }>()
  for (const f of files.values()) {
    const b = blocks.get(f.block) ?? { size: 0, files: 0 }
    b.size += f.size
    b.files++
    blocks.set(f.block, b)
  }
  const datasets = new Set([...blocks.keys()].map((b) => b.split('#')[0] as string))
  datasets.add('/ZeroBias/Run2018A-17Sep2018-v1/MINIAOD')
  for (const d of datasets) out.push(insertDataset(d, d.startsWith('/ZeroBias/') ? 'IGNORED' : 'VALID'))
  for (const [b, { size, files: n }] of blocks) {
    const [d, uuid] = b.split('#') as [string, string]
    out.push(
      `INSERT INTO blocks (dataset_id, name, size, num_files, is_open, last_update) SELECT id, ${q(uuid)}, ${size}, ${n}, 0, '${LAST_UPDATE}' FROM datasets WHERE name = ${q(d)};`,
    )
  }
  for (const [lfn, f] of files) {
    out.push(`INSERT INTO files (block_id, size, name) VALUES (${blockId(f.block)}, ${f.size}, ${q(lfn)});`)
  }
  const tape = new Set(SITES.filter(([, type]) => type === 'mss').map(([name]) => name))
  const replicas = new Map<string, { block: string; site: string; group: string; complete: boolean }>()
  for (const r of rows) replicas.set(`${r.block} ${r.site}`, r)
  for (const r of replicas.values()) {
    // tape replicas are the custodial ones
    out.push(insertBlockReplica(r.block, r.site, r.group, r.complete, tape.has(r.site)))
    // a replica still being filled is a growing dataset replica
    out.push(insertDatasetReplica(r.block.split('#')[0] as string, r.site, !r.complete, r.group))
  }
  for (const t of transfers()) out.push(insertFileSubscription({ lfn: t.lfn, site: t.destination }))
  // extra sites hold what the checked site holds
  for (const s of extra.filter((e) => e.holds)) {
    out.push(
      `INSERT INTO block_replicas (block_id, site_id, group_id, is_custodial, last_update, is_complete) SELECT block_id, ${siteId(s.name)}, group_id, is_custodial, last_update, is_complete FROM block_replicas WHERE site_id = ${siteId(SITE)};`,
      `INSERT INTO dataset_replicas (dataset_id, site_id, growing, group_id) SELECT dataset_id, ${siteId(s.name)}, growing, group_id FROM dataset_replicas WHERE site_id = ${siteId(SITE)};`,
    )
  }
  out.push('USE dynamoregister;')
  // Dynamo deleting two datasets at the site
  for (const lfn of [TAU_DELETION, DELETING]) out.push(insertDeletion(lfn, SITE, 7001))
  return out.join('\n')
}

/** SQL with the databases `dynamo`, `dynamoregister` and `consistency` named as `db` names them. */
export function renameDatabases(sql: string, db: (name: string) => string): string {
  return sql.replace(
    /\b(CREATE DATABASE IF NOT EXISTS|DROP DATABASE IF EXISTS|CREATE DATABASE|USE) (dynamo|dynamoregister|consistency);/g,
    (_, verb: string, name: string) => `${verb} \`${db(name)}\`;`,
  )
}

/** Drop and create Dynamo's databases and the summary store's, and load the fixture. */
export function loadDynamo(server: MariaDb, extraSites: ExtraSite[] = []): void {
  server.sql(
    renameDatabases(
      `DROP DATABASE IF EXISTS dynamo; DROP DATABASE IF EXISTS dynamoregister; DROP DATABASE IF EXISTS consistency; CREATE DATABASE consistency;\n${fs.readFileSync(SCHEMA_FILE, 'utf8')}\n${fixtureSql(extraSites)}`,
      (name) => server.db(name),
    ),
  )
}
