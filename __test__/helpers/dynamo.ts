/**
 * Dynamo's schema (`fixtures/dynamo/schema.sql`) loaded with the check
 * fixture site: sites, groups, datasets, blocks with UUIDs, files, complete
 * and incomplete block replicas, dataset replicas, an IGNORED dataset, a
 * file being transferred, and deletion requests in the registry.
 */
import * as fs from 'node:fs'
import * as path from 'node:path'
import { FIXTURE, inventoryRows, SITE } from './check-site'
import type { MariaDb } from './mariadb'

export const SCHEMA_FILE = path.resolve(__dirname, '..', 'fixtures', 'dynamo', 'schema.sql')
export const TAU_DELETION = '/store/data/Run2018A/Tau/MINIAOD/17Sep2018-v1/20000/T0.root'
export const DELETING = '/store/data/Run2018A/EGamma/MINIAOD/17Sep2018-v1/20000/DELETING.root'
export const SITES: [string, string, string][] = [
  [SITE, 'disk', 'ready'],
  ['T1_US_FNAL_Disk', 'disk', 'ready'],
  ['T1_US_FNAL_MSS', 'mss', 'ready'],
  ['T2_DE_DESY', 'disk', 'morgue'],
]

const q = (s: string) => `'${s.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`

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

/** SQL that fills Dynamo's tables with the fixture (after the schema). */
export function fixtureSql(extraSites: string[] = []): string {
  const out: string[] = ['USE dynamo;']
  for (const [name, type, status] of [
    ...SITES,
    ...extraSites.map((s): [string, string, string] => [s, 'disk', 'ready']),
  ]) {
    out.push(`INSERT INTO sites (name, storage_type, status) VALUES (${q(name)}, '${type}', '${status}');`)
  }
  out.push(`INSERT INTO \`groups\` (id, name) VALUES (1, 'DataOps'), (2, 'AnalysisOps');`)
  const rows = inventoryRows()
  const blocks = new Set([...rows.map((r) => r.block), ...transfers().map((t) => t.block)])
  const datasets = new Set([...blocks].map((b) => b.split('#')[0] as string))
  datasets.add('/ZeroBias/Run2018A-17Sep2018-v1/MINIAOD')
  for (const d of datasets) {
    const status = d.startsWith('/ZeroBias/') ? 'IGNORED' : 'valid'
    out.push(`INSERT INTO datasets (name, status) VALUES (${q(d)}, '${status}');`)
  }
  for (const b of blocks) {
    const [d, uuid] = b.split('#') as [string, string]
    out.push(`INSERT INTO blocks (dataset_id, name) SELECT id, ${q(uuid)} FROM datasets WHERE name = ${q(d)};`)
  }
  const blockOf = (b: string) => {
    const [d, uuid] = b.split('#') as [string, string]
    return `(SELECT b.id FROM blocks AS b JOIN datasets AS d ON d.id = b.dataset_id WHERE d.name = ${q(d)} AND b.name = ${q(uuid)})`
  }
  const files = new Map<string, { size: number; block: string }>()
  for (const r of rows) files.set(r.lfn, { size: r.size, block: r.block })
  for (const t of transfers()) files.set(t.lfn, { size: t.size, block: t.block })
  for (const [lfn, f] of files) {
    out.push(`INSERT INTO files (block_id, size, name) VALUES (${blockOf(f.block)}, ${f.size}, ${q(lfn)});`)
  }
  const replicas = new Map<string, { block: string; site: string; group: string; complete: boolean }>()
  for (const r of rows) replicas.set(`${r.block} ${r.site}`, r)
  const site = (s: string) => `(SELECT id FROM sites WHERE name = ${q(s)})`
  const group = (g: string) => (g ? `(SELECT id FROM \`groups\` WHERE name = ${q(g)})` : '0')
  for (const r of replicas.values()) {
    out.push(
      `INSERT INTO block_replicas (block_id, site_id, group_id, is_complete) VALUES (${blockOf(r.block)}, ${site(r.site)}, ${group(r.group)}, ${r.complete ? 1 : 0});`,
    )
    const d = r.block.split('#')[0] as string
    out.push(
      `INSERT INTO dataset_replicas (dataset_id, site_id, growing) SELECT id, ${site(r.site)}, ${r.complete ? 0 : 1} FROM datasets WHERE name = ${q(d)} ON DUPLICATE KEY UPDATE growing = growing OR VALUES(growing);`,
    )
  }
  for (const t of transfers()) {
    out.push(
      `INSERT INTO file_subscriptions (file_id, site_id, status) SELECT id, ${site(t.destination)}, 'new' FROM files WHERE name = ${q(t.lfn)};`,
    )
  }
  // extra sites hold what the checked site holds
  for (const s of extraSites) {
    out.push(
      `INSERT INTO block_replicas (block_id, site_id, group_id, is_complete) SELECT block_id, ${site(s)}, group_id, is_complete FROM block_replicas WHERE site_id = ${site(SITE)};`,
    )
  }
  out.push('USE dynamoregister;')
  for (const lfn of [TAU_DELETION, DELETING]) {
    out.push(`INSERT INTO deletion_queue (file, site, status) VALUES (${q(lfn)}, ${q(SITE)}, 'new');`)
  }
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
export function loadDynamo(server: MariaDb, extraSites: string[] = []): void {
  server.sql(
    renameDatabases(
      `DROP DATABASE IF EXISTS dynamo; DROP DATABASE IF EXISTS dynamoregister; DROP DATABASE IF EXISTS consistency; CREATE DATABASE consistency;\n${fs.readFileSync(SCHEMA_FILE, 'utf8')}\n${fixtureSql(extraSites)}`,
      (name) => server.db(name),
    ),
  )
}
