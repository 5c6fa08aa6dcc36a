/**
 * The summary store: site status and reporting flag, the figures of every
 * run, and the history of what runs found (missing files, orphans, empty
 * directories, unmerged files). SQLite (`VarLocation/summary.db`) on one
 * host; MySQL/MariaDB (`SummaryDatabase: mysql://...`) when several hosts
 * share the work.
 *
 * Tables:
 *
 * | table | holds |
 * |---|---|
 * | `site_status(site, status, reporting, running_since, run_host, run_pid, last_start, max_missing, max_orphan)` | one row per site |
 * | `site_runs(id, site, started, time, files, nodes, empty, missing, missing_size, orphan, orphan_size, nosource, unrecoverable, unlisted, unlisted_bad, duration, threads, unmerged, unmerged_size, held_back)` | one row per finished run |
 * | `invalid`, `orphans`, `unmerged` `(site, lfn, size, run_id)` | what the last run of each site found and nobody acted on yet |
 * | `empty_directories(site, name, run_id)` | likewise |
 * | `invalid_history`, `orphans_history`, `unmerged_history`, `empty_directories_history` | the same rows once acted on, with `acted` (unix seconds) |
 */
import * as fs from 'node:fs'
import * as path from 'node:path'
import { insertRows, MysqlSql, type Param, redact, type Sql, SqliteSql } from '../backends/sql'
import { config } from '../config'
import type { Reporting, RunStats, RunStatus, SiteSummary, SummaryReader } from './types'

/** The history tables of findings, by kind. */
export const FINDINGS = {
  missing: { table: 'invalid', column: 'lfn' },
  orphan: { table: 'orphans', column: 'lfn' },
  empty: { table: 'empty_directories', column: 'name' },
  unmerged: { table: 'unmerged', column: 'lfn' },
} as const
export type FindingKind = keyof typeof FINDINGS

/** One finding: a file (with its size) or a directory. */
export interface Finding {
  lfn: string
  size?: number
}

const STATS_COLUMNS = [
  ['files', 'files'],
  ['nodes', 'nodes'],
  ['empty', 'empty'],
  ['missing', 'missing'],
  ['missing_size', 'missingSize'],
  ['orphan', 'orphan'],
  ['orphan_size', 'orphanSize'],
  ['nosource', 'nosource'],
  ['unrecoverable', 'unrecoverable'],
  ['unlisted', 'unlisted'],
  ['unlisted_bad', 'unlistedBad'],
  ['duration', 'duration'],
  ['threads', 'threads'],
  ['unmerged', 'unmerged'],
  ['unmerged_size', 'unmergedSize'],
] as const

function schema(dialect: 'sqlite' | 'mysql'): string[] {
  const my = dialect === 'mysql'
  const site = my ? 'VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin' : 'TEXT'
  // 700 utf8mb4 characters keep (site, lfn) within InnoDB's 3072-byte key limit
  const lfn = my ? 'VARCHAR(700) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin' : 'TEXT'
  const text = my ? 'VARCHAR(1000)' : 'TEXT'
  const big = my ? 'BIGINT' : 'INTEGER'
  const id = my ? 'BIGINT PRIMARY KEY AUTO_INCREMENT' : 'INTEGER PRIMARY KEY AUTOINCREMENT'
  const engine = my ? ' ENGINE=InnoDB' : ''
  const stats = STATS_COLUMNS.map(([c]) => `${c} ${c === 'duration' ? 'DOUBLE' : big} NOT NULL DEFAULT 0`).join(', ')
  const out = [
    `CREATE TABLE IF NOT EXISTS site_status (
      site ${site} PRIMARY KEY,
      status VARCHAR(16) NOT NULL DEFAULT 'ready',
      reporting VARCHAR(8) NOT NULL DEFAULT 'dry',
      running_since ${big} NULL,
      run_host ${text} NULL,
      run_pid ${big} NULL,
      last_start ${big} NULL,
      max_missing ${big} NULL,
      max_orphan ${big} NULL
    )${engine}`,
    `CREATE TABLE IF NOT EXISTS site_runs (
      id ${id},
      site ${site} NOT NULL,
      started ${big} NOT NULL,
      time ${big} NOT NULL,
      ${stats},
      held_back ${text} NULL
    )${engine}`,
    `CREATE INDEX ${my ? '' : 'IF NOT EXISTS '}site_runs_site ON site_runs (site, time)`,
  ]
  for (const { table, column } of Object.values(FINDINGS)) {
    const size = column === 'lfn' ? `size ${big} NULL, ` : ''
    out.push(
      `CREATE TABLE IF NOT EXISTS ${table} (
        site ${site} NOT NULL, ${column} ${lfn} NOT NULL, ${size}run_id ${big} NOT NULL,
        PRIMARY KEY (site, ${column})
      )${engine}`,
      `CREATE TABLE IF NOT EXISTS ${table}_history (
        id ${id}, site ${site} NOT NULL, ${column} ${lfn} NOT NULL, ${size}run_id ${big} NOT NULL,
        acted ${big} NOT NULL
      )${engine}`,
    )
  }
  return out
}

/** The summary store location the configuration names. */
export function summaryLocation(): string {
  const configured = config.get<string>('SummaryDatabase')
  if (/^(mysql|mariadb):\/\//.test(configured)) return configured
  if (configured) {
    const base = config.LOCATION ? path.dirname(config.LOCATION) : process.cwd()
    return path.resolve(base, configured)
  }
  return path.join(config.resolvePath('VarLocation'), 'summary.db')
}

const now = () => Math.floor(Date.now() / 1000)
const num = (v: unknown): number => (v === null || v === undefined ? 0 : Number(v))

function toStats(r: Record<string, unknown>): RunStats {
  const stats: Record<string, unknown> = { site: String(r.site), time: num(r.time) }
  for (const [column, key] of STATS_COLUMNS) stats[key] = num(r[column])
  stats.heldBack = r.held_back === null || r.held_back === undefined ? null : String(r.held_back)
  return stats as unknown as RunStats
}

/** What a picked site's run starts with. */
export interface PickedSite {
  site: string
  reporting: Reporting
  started: number
}

/** The summary store: reader for the web page, writer for the check. */
export class SummaryStore implements SummaryReader {
  private ready: Promise<void> | null = null

  constructor(readonly db: Sql) {}

  /** Create the tables when absent. */
  init(): Promise<void> {
    this.ready ??= (async () => {
      for (const statement of schema(this.db.dialect)) {
        try {
          await this.db.run(statement)
        } catch (err) {
          // MySQL has no CREATE INDEX IF NOT EXISTS before 10.1 syntax; an existing index is fine
          if (!/Duplicate key name/.test((err as Error).message)) throw err
        }
      }
    })()
    return this.ready
  }

  // ---- reading ---------------------------------------------------------------

  async sites(): Promise<SiteSummary[]> {
    await this.init()
    const rows = await this.db.all('SELECT * FROM site_status ORDER BY site')
    const last = await this.db.all(
      `SELECT r.* FROM site_runs AS r
       JOIN (SELECT site, MAX(id) AS id FROM site_runs GROUP BY site) AS m ON m.id = r.id`,
    )
    const lastBySite = new Map(last.map((r) => [String(r.site), toStats(r)]))
    const maxMissing = config.get<number>('MaxMissing')
    const maxOrphan = config.get<number>('MaxOrphan')
    return rows.map((r) => ({
      site: String(r.site),
      status: String(r.status) as RunStatus,
      reporting: String(r.reporting) as Reporting,
      runningSince: r.running_since === null || r.running_since === undefined ? null : num(r.running_since),
      last: lastBySite.get(String(r.site)) ?? null,
      maxMissing: r.max_missing === null || r.max_missing === undefined ? maxMissing : num(r.max_missing),
      maxOrphan: r.max_orphan === null || r.max_orphan === undefined ? maxOrphan : num(r.max_orphan),
    }))
  }

  async history(site: string): Promise<RunStats[]> {
    await this.init()
    return (await this.db.all('SELECT * FROM site_runs WHERE site = ? ORDER BY time, id', [site])).map(toStats)
  }

  /** The current (not yet acted on) findings of a kind at a site, sorted. */
  async findings(site: string, kind: FindingKind): Promise<Finding[]> {
    await this.init()
    const { table, column } = FINDINGS[kind]
    const size = column === 'lfn' ? ', size' : ''
    const rows = await this.db.all(`SELECT ${column} AS lfn${size} FROM ${table} WHERE site = ? ORDER BY ${column}`, [
      site,
    ])
    return rows.map((r) => (r.size === undefined ? { lfn: String(r.lfn) } : { lfn: String(r.lfn), size: num(r.size) }))
  }

  /** Findings of a kind that were acted on, oldest first. */
  async actedFindings(site: string, kind: FindingKind): Promise<(Finding & { acted: number })[]> {
    await this.init()
    const { table, column } = FINDINGS[kind]
    const rows = await this.db.all(`SELECT ${column} AS lfn, acted FROM ${table}_history WHERE site = ? ORDER BY id`, [
      site,
    ])
    return rows.map((r) => ({ lfn: String(r.lfn), acted: num(r.acted) }))
  }

  async status(site: string): Promise<{ status: RunStatus; reporting: Reporting } | null> {
    await this.init()
    const r = (await this.db.all('SELECT status, reporting FROM site_status WHERE site = ?', [site]))[0]
    return r ? { status: String(r.status) as RunStatus, reporting: String(r.reporting) as Reporting } : null
  }

  // ---- site status -------------------------------------------------------------

  /** Make sure every site has a row (new ones: ready, dry). */
  async addSites(sites: readonly string[]): Promise<void> {
    await this.init()
    if (sites.length === 0) return
    const ignore = this.db.dialect === 'mysql' ? 'INSERT IGNORE' : 'INSERT OR IGNORE'
    await insertRows(
      this.db,
      `${ignore} INTO site_status (site, status, reporting)`,
      sites.map((s): Param[] => [s, 'ready', 'dry']),
    )
  }

  /**
   * `ready`, `halt` or `disable` set the run status; `act` or `dry` the
   * reporting flag. Halting a running site stops its check within seconds.
   */
  async setStatus(site: string, what: 'ready' | 'halt' | 'disable' | 'act' | 'dry'): Promise<void> {
    await this.addSites([site])
    if (what === 'act' || what === 'dry') {
      await this.db.run('UPDATE site_status SET reporting = ? WHERE site = ?', [what, site])
    } else {
      const status: RunStatus = what === 'disable' ? 'disabled' : what
      const unlock = status === 'ready' ? ', running_since = NULL, run_host = NULL, run_pid = NULL' : ''
      await this.db.run(`UPDATE site_status SET status = ?${unlock} WHERE site = ?`, [status, site])
    }
  }

  /**
   * Pick the ready site matching `pattern` that ran longest ago (never run
   * first) and whose `checkSite` passes, and lock it for this worker, in
   * one transaction: two workers never pick the same site.
   */
  async pick(
    pattern: RegExp,
    checkSite: (site: string) => Promise<boolean>,
    worker: { host: string; pid: number },
  ): Promise<PickedSite | null> {
    await this.init()
    await this.releaseDead(worker.host)
    const forUpdate = this.db.dialect === 'mysql' ? ' FOR UPDATE' : ''
    return this.db.transaction(async (tx) => {
      const rows = await tx.all<{ site: string; reporting: string }>(
        `SELECT site, reporting FROM site_status WHERE status = 'ready'
         ORDER BY COALESCE(last_start, 0), site${forUpdate}`,
      )
      for (const r of rows) {
        const site = String(r.site)
        if (!pattern.test(site) || !(await checkSite(site))) continue
        const started = now()
        const claimed = await tx.run(
          `UPDATE site_status SET status = 'locked', running_since = ?, run_host = ?, run_pid = ?, last_start = ?
           WHERE site = ? AND status = 'ready'`,
          [started, worker.host, worker.pid, started, site],
        )
        if (claimed.changes === 1) return { site, reporting: r.reporting === 'act' ? 'act' : 'dry', started }
      }
      return null
    })
  }

  /** Sites locked by processes of this host that no longer exist go back to ready. */
  private async releaseDead(host: string): Promise<void> {
    const rows = await this.db.all<{ site: string; run_pid: number }>(
      `SELECT site, run_pid FROM site_status WHERE status IN ('locked', 'running') AND run_host = ?`,
      [host],
    )
    for (const r of rows) {
      const pid = num(r.run_pid)
      let alive = true
      try {
        process.kill(pid, 0)
      } catch (err) {
        alive = (err as NodeJS.ErrnoException).code === 'EPERM'
      }
      if (!alive) {
        await this.db.run(
          `UPDATE site_status SET status = 'ready', running_since = NULL, run_host = NULL, run_pid = NULL
           WHERE site = ? AND status IN ('locked', 'running') AND run_pid = ?`,
          [r.site, pid],
        )
      }
    }
  }

  /** Mark a locked site as running. */
  async markRunning(site: string): Promise<void> {
    await this.db.run(`UPDATE site_status SET status = 'running' WHERE site = ? AND status = 'locked'`, [site])
  }

  /** Unlock a site after its run: back to ready unless it was halted or disabled meanwhile. */
  async release(site: string): Promise<void> {
    await this.db.run(
      `UPDATE site_status SET status = CASE WHEN status IN ('locked', 'running') THEN 'ready' ELSE status END,
       running_since = NULL, run_host = NULL, run_pid = NULL WHERE site = ?`,
      [site],
    )
  }

  // ---- runs and findings -----------------------------------------------------------

  /**
   * Record a finished run and what it found, in one transaction: the
   * site's previous findings are replaced. Returns the run id.
   */
  async recordRun(
    stats: RunStats,
    started: number,
    findings: Partial<Record<FindingKind, readonly Finding[]>>,
    limits: { maxMissing: number; maxOrphan: number },
    during?: (tx: Sql) => Promise<void>,
  ): Promise<number> {
    await this.init()
    return this.db.transaction(async (tx) => {
      const columns = STATS_COLUMNS.map(([c]) => c)
      const values: Param[] = STATS_COLUMNS.map(([, key]) => stats[key])
      const r = await tx.run(
        `INSERT INTO site_runs (site, started, time, ${columns.join(', ')}, held_back)
         VALUES (?, ?, ?, ${columns.map(() => '?').join(', ')}, ?)`,
        [stats.site, started, stats.time, ...values, stats.heldBack],
      )
      const runId = r.lastId
      for (const [kind, list] of Object.entries(findings) as [FindingKind, readonly Finding[]][]) {
        const { table, column } = FINDINGS[kind]
        await tx.run(`DELETE FROM ${table} WHERE site = ?`, [stats.site])
        const withSize = column === 'lfn'
        await insertRows(
          tx,
          `INSERT INTO ${table} (site, ${column}${withSize ? ', size' : ''}, run_id)`,
          list.map((f): Param[] =>
            withSize
              ? [stats.site, f.lfn, f.size === undefined || f.size < 0 ? null : f.size, runId]
              : [stats.site, f.lfn, runId],
          ),
        )
        if (during) await during(tx)
      }
      await tx.run('UPDATE site_status SET max_missing = ?, max_orphan = ? WHERE site = ?', [
        limits.maxMissing,
        limits.maxOrphan,
        stats.site,
      ])
      return runId
    })
  }

  /**
   * Move findings that were acted on to their history table (all of the
   * site's findings of that kind when `lfns` is omitted), in one transaction.
   */
  async markActed(site: string, kind: FindingKind, lfns?: readonly string[], acted = now()): Promise<number> {
    await this.init()
    const { table, column } = FINDINGS[kind]
    const size = column === 'lfn' ? ', size' : ''
    return this.db.transaction(async (tx) => {
      let moved = 0
      const move = async (where: string, params: Param[]) => {
        const r = await tx.run(
          `INSERT INTO ${table}_history (site, ${column}${size}, run_id, acted)
           SELECT site, ${column}${size}, run_id, ? FROM ${table} WHERE site = ?${where}`,
          [acted, site, ...params],
        )
        await tx.run(`DELETE FROM ${table} WHERE site = ?${where}`, [site, ...params])
        moved += r.changes
      }
      if (lfns === undefined) await move('', [])
      else {
        for (let i = 0; i < lfns.length; i += 500) {
          const part = lfns.slice(i, i + 500)
          await move(` AND ${column} IN (${part.map(() => '?').join(', ')})`, part)
        }
      }
      return moved
    })
  }

  close(): Promise<void> {
    return this.db.close()
  }
}

/**
 * Open the summary store: a SQLite file or a `mysql://` URL (default: the
 * configuration's `SummaryDatabase`, else `VarLocation/summary.db`).
 */
export async function openSummary(location: string = summaryLocation()): Promise<SummaryStore> {
  let db: Sql
  if (/^(mysql|mariadb):\/\//.test(location)) db = new MysqlSql(location, `SummaryDatabase ${redact(location)}`)
  else {
    fs.mkdirSync(path.dirname(location), { recursive: true })
    db = new SqliteSql(location)
  }
  const store = new SummaryStore(db)
  try {
    await store.init()
  } catch (err) {
    await db.close().catch(() => undefined)
    throw err
  }
  return store
}
