/**
 * The summary store: site status and reporting flag, the figures of every
 * run, and what every run found (missing files, orphans, empty
 * directories, unmerged files, size mismatches) with whether it was acted
 * on. SQLite (`VarLocation/summary.db`) on one host; MySQL/MariaDB
 * (`SummaryDatabase: mysql://...`) when several hosts share the work.
 *
 * Tables:
 *
 * | table | holds |
 * |---|---|
 * | `site_status(site, status, reporting, running_since, run_host, run_pid, last_start, max_missing, max_orphan, lease_owner, lease_until)` | one row per site; a running check holds a lease on its site (`lease_owner`, until `lease_until`, unix seconds) that it renews while it runs |
 * | `site_runs(id, site, started, time, files, nodes, empty, missing, missing_size, orphan, orphan_size, nosource, unrecoverable, unlisted, unlisted_bad, duration, threads, unmerged, unmerged_size, held_back)` | one row per finished run |
 * | `findings(run_id, site, kind, lfn, size, inventory_size, acted)` | one row per finding of every run, dry sites included, kept after later runs; `acted` is when a registry request was made for it (unix seconds), NULL until then |
 *
 * `findings.lfn` holds the exact bytes of the name, of any length (SQLite:
 * TEXT bound from the bytes; MySQL: a `BLOB`, found through an index on its
 * first 255 bytes, since InnoDB keys stop at 3072 bytes and a name on
 * storage can be longer), so that a name that is not UTF-8 and its U+FFFD
 * look-alike are two findings.
 *
 * Databases made by earlier versions also hold `invalid`, `orphans`,
 * `empty_directories`, `unmerged` and their `_history` twins (the last
 * run's findings, and those acted on): they are left untouched, and
 * nothing reads or writes them any more.
 */
import * as fs from 'node:fs'
import * as path from 'node:path'
import { chunks } from '../backends/chunks'
import { DatabaseError, insertRows, MysqlSql, type Param, type Row, redact, type Sql, SqliteSql } from '../backends/sql'
import { config } from '../config'
import { type Lfn, lfnBytes, lfnFromColumn } from '../lfn'
import { DAY, now } from '../time'
import type { Reporting, RunStats, RunStatus, SiteSummary, SummaryReader } from './types'

/**
 * What a run can find, as `findings.kind` holds it. `size` is the size on
 * storage for `orphan`, `unmerged` and `size_mismatch`, the inventory's
 * size for `missing`; `inventory_size` is the inventory's size of a
 * `size_mismatch`; an `empty` directory has neither.
 */
export const FINDING_KINDS = ['missing', 'orphan', 'empty', 'unmerged', 'size_mismatch'] as const
export type FindingKind = (typeof FINDING_KINDS)[number]

/** One finding: a file (with its sizes, when known) or a directory. */
export interface Finding {
  lfn: Lfn
  size?: number
  inventorySize?: number
}

/** A finding as a run recorded it: `acted` is when it was acted on (unix seconds), or null. */
export interface RecordedFinding extends Finding {
  acted: number | null
}

/** A finding that was acted on, and the run that found it. */
export interface ActedFinding extends Finding {
  acted: number
  runId: number
}

/** How long a finding has been found: in `runs` runs in a row, the first of which ended at `since`. */
export interface Streak {
  runs: number
  since: number
}

/** Parameters in one `IN (...)` list. */
const IN_CHUNK = 500
/** Runs read at a time when walking a site's runs newest first. */
const RUN_PAGE = 32

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
  const kind = my ? 'VARCHAR(16) CHARACTER SET ascii COLLATE ascii_bin' : 'TEXT'
  const text = my ? 'VARCHAR(1000)' : 'TEXT'
  const big = my ? 'BIGINT' : 'INTEGER'
  const id = my ? 'BIGINT PRIMARY KEY AUTO_INCREMENT' : 'INTEGER PRIMARY KEY AUTOINCREMENT'
  const engine = my ? ' ENGINE=InnoDB' : ''
  const stats = STATS_COLUMNS.map(([c]) => `${c} ${c === 'duration' ? 'DOUBLE' : big} NOT NULL DEFAULT 0`).join(', ')
  return [
    `CREATE TABLE IF NOT EXISTS site_status (
      site ${site} PRIMARY KEY,
      status VARCHAR(16) NOT NULL DEFAULT 'ready',
      reporting VARCHAR(8) NOT NULL DEFAULT 'dry',
      running_since ${big} NULL,
      run_host ${text} NULL,
      run_pid ${big} NULL,
      last_start ${big} NULL,
      max_missing ${big} NULL,
      max_orphan ${big} NULL,
      lease_owner ${text} NULL,
      lease_until ${big} NULL
    )${engine}`,
    `CREATE TABLE IF NOT EXISTS site_runs (
      id ${id},
      site ${site} NOT NULL,
      started ${big} NOT NULL,
      time ${big} NOT NULL,
      ${stats},
      held_back ${text} NULL,
      failed ${text} NULL,
      warning ${text} NULL
    )${engine}`,
    `CREATE INDEX ${my ? '' : 'IF NOT EXISTS '}site_runs_site ON site_runs (site, time)`,
    // keyed by run, as they are read, streaked and marked; SQLite keeps the rows in the key (WITHOUT ROWID): each
    // LFN once; MySQL keys a prefix of the name (a key holds at most 3072 bytes), and a row id is the primary key
    `CREATE TABLE IF NOT EXISTS findings (
      ${my ? 'id BIGINT PRIMARY KEY AUTO_INCREMENT,' : ''}
      run_id ${big} NOT NULL,
      site ${site} NOT NULL,
      kind ${kind} NOT NULL,
      lfn ${my ? 'BLOB' : 'TEXT'} NOT NULL,
      size ${big} NULL,
      inventory_size ${big} NULL,
      acted ${big} NULL,
      ${my ? 'KEY findings_run (run_id, kind, lfn(255))' : 'PRIMARY KEY (run_id, kind, lfn)'}
    )${my ? engine : ' WITHOUT ROWID'}`,
    `CREATE INDEX ${my ? '' : 'IF NOT EXISTS '}findings_acted ON findings (site, kind, acted)`,
  ]
}

/** Columns added to tables that earlier versions made. */
const ADDED_COLUMNS = [
  'ALTER TABLE site_status ADD COLUMN lease_owner VARCHAR(1000) NULL',
  'ALTER TABLE site_status ADD COLUMN lease_until BIGINT NULL',
  'ALTER TABLE site_runs ADD COLUMN failed VARCHAR(1000) NULL',
  'ALTER TABLE site_runs ADD COLUMN warning VARCHAR(1000) NULL',
]

/** The summary store location the configuration names. */
export function summaryLocation(): string {
  const configured = config.get<string>('SummaryDatabase')
  if (/^(mysql|mariadb):\/\//.test(configured)) return configured
  if (configured) return config.relativePath(configured)
  return path.join(config.resolvePath('VarLocation'), 'summary.db')
}

const num = (v: unknown): number => (v === null || v === undefined ? 0 : Number(v))
/** A size as a parameter: unknown (undefined or negative) is NULL. */
const sizeParam = (size: number | undefined): number | null => (size === undefined || size < 0 ? null : size)

function toFinding(r: Row): Finding {
  const finding: Finding = { lfn: lfnFromColumn(r.lfn) }
  if (r.size !== null && r.size !== undefined) finding.size = num(r.size)
  if (r.inventory_size !== null && r.inventory_size !== undefined) finding.inventorySize = num(r.inventory_size)
  return finding
}

/** Whether a recorded finding has a candidate's sizes (an undefined size matches any). */
function sameSizes(candidate: Finding, recorded: Finding): boolean {
  return (
    (candidate.size === undefined || candidate.size === recorded.size) &&
    (candidate.inventorySize === undefined || candidate.inventorySize === recorded.inventorySize)
  )
}

function checkKind(kind: string): asserts kind is FindingKind {
  if (!(FINDING_KINDS as readonly string[]).includes(kind)) {
    throw new TypeError(`not a kind of finding: ${kind} (${FINDING_KINDS.join(', ')})`)
  }
}

const marks = (n: number) => Array(n).fill('?').join(', ')

function toStats(r: Record<string, unknown>): RunStats {
  const stats: Record<string, unknown> = { site: String(r.site), time: num(r.time) }
  for (const [column, key] of STATS_COLUMNS) stats[key] = num(r[column])
  stats.heldBack = r.held_back === null || r.held_back === undefined ? null : String(r.held_back)
  stats.failed = r.failed === null || r.failed === undefined ? null : String(r.failed)
  stats.warning = r.warning === null || r.warning === undefined ? null : String(r.warning)
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

  /** `readOnly`: never create nor change a table (the page's store: a SELECT-only account will do). */
  constructor(
    readonly db: Sql,
    readonly readOnly = false,
  ) {}

  /**
   * Create the tables when absent (and add the columns later versions
   * need); a read-only store only checks that there are tables to read.
   */
  init(): Promise<void> {
    this.ready ??= (async () => {
      if (this.readOnly) {
        try {
          await this.db.all('SELECT site FROM site_status WHERE 1 = 0')
        } catch (err) {
          if (!/no such table|ER_NO_SUCH_TABLE|doesn't exist/.test((err as Error).message)) throw err
          throw new DatabaseError(`${this.db.where}: no summary store here yet: a check writes it`)
        }
        return
      }
      for (const statement of [...schema(this.db.dialect), ...ADDED_COLUMNS]) {
        try {
          await this.db.run(statement)
        } catch (err) {
          // MySQL has no CREATE INDEX IF NOT EXISTS before 10.1 syntax; an existing index is fine,
          // and so is a column a table made by this version has already
          if (!/Duplicate key name|Duplicate column name|duplicate column name/.test((err as Error).message)) throw err
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
      const unlock =
        status === 'ready'
          ? ', running_since = NULL, run_host = NULL, run_pid = NULL, lease_owner = NULL, lease_until = NULL'
          : ''
      await this.db.run(`UPDATE site_status SET status = ?${unlock} WHERE site = ?`, [status, site])
    }
  }

  /**
   * Pick the site matching `pattern` that ran longest ago (never run
   * first), is ready or whose lease has expired (its worker died, on any
   * host), and whose `checkSite` passes, and take a lease on it for
   * `leaseSeconds`, in one transaction: two workers never hold the same
   * site. The worker renews the lease while it runs (`renewLease`).
   */
  async pick(
    pattern: RegExp,
    checkSite: (site: string) => Promise<boolean>,
    worker: { host: string; pid: number; owner: string; leaseSeconds: number },
  ): Promise<PickedSite | null> {
    await this.init()
    const forUpdate = this.db.dialect === 'mysql' ? ' FOR UPDATE' : ''
    const clock = this.clock()
    const free = `(status = 'ready' OR (status IN ('locked', 'running') AND COALESCE(lease_until, 0) < ${clock}))`
    return this.db.transaction(async (tx) => {
      const t = now()
      const rows = await tx.all<{ site: string; reporting: string }>(
        `SELECT site, reporting FROM site_status WHERE ${free}
         ORDER BY COALESCE(last_start, 0), site${forUpdate}`,
      )
      for (const r of rows) {
        const site = String(r.site)
        if (!pattern.test(site) || !(await checkSite(site))) continue
        const claimed = await tx.run(
          `UPDATE site_status SET status = 'locked', running_since = ?, run_host = ?, run_pid = ?, last_start = ?,
           lease_owner = ?, lease_until = ${clock} + ? WHERE site = ? AND ${free}`,
          [t, worker.host, worker.pid, t, worker.owner, worker.leaseSeconds, site],
        )
        if (claimed.changes === 1) return { site, reporting: r.reporting === 'act' ? 'act' : 'dry', started: t }
      }
      return null
    })
  }

  /**
   * Extend this worker's lease on a site to `leaseSeconds` from now.
   * False when the worker holds it no longer (halted, disabled, or taken
   * over after the lease expired): the run must stop.
   */
  async renewLease(site: string, owner: string, leaseSeconds: number): Promise<boolean> {
    const r = await this.db.run(
      `UPDATE site_status SET lease_until = ${this.clock()} + ? WHERE site = ? AND lease_owner = ?
       AND status IN ('locked', 'running')`,
      [leaseSeconds, site, owner],
    )
    return r.changes === 1
  }

  /**
   * The database's clock in unix seconds, as SQL: leases are granted and
   * judged on one clock, whatever the clocks of the workers' hosts say.
   */
  private clock(): string {
    return this.db.dialect === 'mysql' ? 'UNIX_TIMESTAMP()' : "CAST(strftime('%s', 'now') AS INTEGER)"
  }

  /**
   * Renew this worker's lease and read the site's reporting flag as it is
   * now: null when the worker holds the site no longer.
   */
  async confirmLease(site: string, owner: string, leaseSeconds: number): Promise<Reporting | null> {
    if (!(await this.renewLease(site, owner, leaseSeconds))) return null
    const r = (await this.db.all<{ reporting: string }>('SELECT reporting FROM site_status WHERE site = ?', [site]))[0]
    return r?.reporting === 'act' ? 'act' : 'dry'
  }

  /** Mark a locked site as running. */
  async markRunning(site: string, owner: string): Promise<void> {
    await this.db.run(
      `UPDATE site_status SET status = 'running' WHERE site = ? AND status = 'locked' AND lease_owner = ?`,
      [site, owner],
    )
  }

  /**
   * Give a site up after its run: back to ready unless it was halted or
   * disabled meanwhile; nothing when another worker holds it now.
   */
  async release(site: string, owner: string): Promise<void> {
    await this.db.run(
      `UPDATE site_status SET status = CASE WHEN status IN ('locked', 'running') THEN 'ready' ELSE status END,
       running_since = NULL, run_host = NULL, run_pid = NULL, lease_owner = NULL, lease_until = NULL
       WHERE site = ? AND lease_owner = ?`,
      [site, owner],
    )
  }

  // ---- runs and findings -----------------------------------------------------------

  /**
   * Record a run that failed before it could find anything (its storage
   * could not be listed: refused credentials), with why: zeros for its
   * figures, no findings. Returns the run id.
   */
  async recordFailedRun(
    site: string,
    started: number,
    reason: string,
    limits: { maxMissing: number; maxOrphan: number },
  ): Promise<number> {
    const stats: Record<string, unknown> = { site, time: now(), heldBack: null, failed: reason.slice(0, 1000) }
    for (const [, key] of STATS_COLUMNS) stats[key] = 0
    return this.recordRun(stats as unknown as RunStats, started, {}, limits)
  }

  /**
   * Record a finished run and what it found, in one transaction; the
   * findings of earlier runs stay. `during` is called inside the
   * transaction after each kind of finding is written. Returns the run id.
   */
  async recordRun(
    stats: RunStats,
    started: number,
    findings: Partial<Record<FindingKind, readonly Finding[]>>,
    limits: { maxMissing: number; maxOrphan: number },
    during?: (tx: Sql) => Promise<void>,
  ): Promise<number> {
    const kinds = Object.entries(findings).filter((e): e is [FindingKind, readonly Finding[]] => e[1] !== undefined)
    for (const [kind] of kinds) checkKind(kind)
    await this.init()
    return this.db.transaction(async (tx) => {
      const columns = STATS_COLUMNS.map(([c]) => c)
      const values: Param[] = STATS_COLUMNS.map(([, key]) => stats[key])
      const r = await tx.run(
        `INSERT INTO site_runs (site, started, time, ${columns.join(', ')}, held_back, failed, warning)
         VALUES (?, ?, ?, ${marks(columns.length)}, ?, ?, ?)`,
        [
          stats.site,
          started,
          stats.time,
          ...values,
          stats.heldBack,
          stats.failed ?? null,
          stats.warning?.slice(0, 1000) ?? null,
        ],
      )
      const runId = r.lastId
      for (const [kind, list] of kinds) {
        await insertRows(
          tx,
          'INSERT INTO findings (run_id, site, kind, lfn, size, inventory_size)',
          list.map((f): Param[] => [
            runId,
            stats.site,
            kind,
            lfnBytes(f.lfn),
            sizeParam(f.size),
            sizeParam(f.inventorySize),
          ]),
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

  /** The site's latest finished run (the highest id), or null. */
  async lastRun(site: string): Promise<{ id: number; time: number } | null> {
    await this.init()
    const r = (await this.db.all('SELECT id, time FROM site_runs WHERE site = ? ORDER BY id DESC LIMIT 1', [site]))[0]
    return r ? { id: num(r.id), time: num(r.time) } : null
  }

  /**
   * The findings of a kind in the site's latest run (or in run `runId` of
   * the site), acted on or not, sorted by bytes.
   */
  async findings(site: string, kind: FindingKind, runId?: number): Promise<RecordedFinding[]> {
    checkKind(kind)
    await this.init()
    const run = runId ?? (await this.lastRun(site))?.id
    if (run === undefined) return []
    const rows = await this.db.all(
      `SELECT lfn, size, inventory_size, acted FROM findings WHERE run_id = ? AND kind = ? AND site = ? ORDER BY lfn`,
      [run, kind, site],
    )
    return rows.map((r) => ({
      ...toFinding(r),
      acted: r.acted === null || r.acted === undefined ? null : num(r.acted),
    }))
  }

  /**
   * How long each candidate has been found: the runs in a row of the site,
   * ending at run `runId`, whose findings of `kind` hold the candidate's
   * LFN with its sizes (an undefined size matches any), and when the first
   * of them ended. A run that recorded no findings of `kind` breaks every
   * streak. Candidates not found in run `runId` have no entry.
   *
   * The runs are read newest first, and only for the candidates still
   * found, until none is. With `enough`, a candidate is no longer followed
   * once its streak has `enough.runs` runs and began `enough.days` days
   * before `enough.now` (so its streak may be longer than reported).
   */
  async streaks(
    site: string,
    kind: FindingKind,
    runId: number,
    candidates: readonly Finding[],
    enough?: { runs: number; days: number; now: number },
  ): Promise<Map<Lfn, Streak>> {
    checkKind(kind)
    await this.init()
    const out = new Map<Lfn, Streak>()
    let alive = new Map<Lfn, Finding>()
    for (const c of candidates) if (!alive.has(c.lfn)) alive.set(c.lfn, c)
    let below = runId + 1
    for (let first = true; alive.size > 0; first = false) {
      const runs = await this.db.all(
        'SELECT id, time FROM site_runs WHERE site = ? AND id < ? ORDER BY id DESC LIMIT ?',
        [site, below, RUN_PAGE],
      )
      // the walk starts at run `runId`, which must be one of the site's runs
      if (runs.length === 0 || (first && num(runs[0]?.id) !== runId)) break
      for (const run of runs) {
        const id = num(run.id)
        const time = num(run.time)
        below = id
        const found = await this.foundIn(id, kind, [...alive.keys()])
        const next = new Map<Lfn, Finding>()
        for (const [lfn, candidate] of alive) {
          const recorded = found.get(lfn)
          if (!recorded || !sameSizes(candidate, recorded)) continue
          const streak = { runs: (out.get(lfn)?.runs ?? 0) + 1, since: time }
          out.set(lfn, streak)
          if (enough && streak.runs >= enough.runs && streak.since <= enough.now - enough.days * DAY) continue
          next.set(lfn, candidate)
        }
        alive = next
        if (alive.size === 0) break
      }
    }
    return out
  }

  /** The findings of `kind` in run `runId` among `lfns`, by LFN. */
  private async foundIn(runId: number, kind: FindingKind, lfns: readonly Lfn[]): Promise<Map<Lfn, Finding>> {
    const found = new Map<Lfn, Finding>()
    for (const part of chunks(lfns, IN_CHUNK)) {
      const rows = await this.db.all(
        `SELECT lfn, size, inventory_size FROM findings WHERE run_id = ? AND kind = ? AND lfn IN (${marks(part.length)})`,
        [runId, kind, ...part.map(lfnBytes)],
      )
      for (const r of rows) {
        const finding = toFinding(r)
        found.set(finding.lfn, finding)
      }
    }
    return found
  }

  /**
   * Mark findings of run `runId` as acted on at `acted` (all of the run's
   * findings of that kind when `lfns` is omitted), in one transaction.
   * Findings already marked keep their time. Returns how many were marked.
   */
  async markActed(
    site: string,
    runId: number,
    kind: FindingKind,
    lfns?: readonly Lfn[],
    acted = now(),
  ): Promise<number> {
    checkKind(kind)
    await this.init()
    const update = 'UPDATE findings SET acted = ? WHERE run_id = ? AND kind = ? AND site = ? AND acted IS NULL'
    return this.db.transaction(async (tx) => {
      if (lfns === undefined) return (await tx.run(update, [acted, runId, kind, site])).changes
      let marked = 0
      for (const part of chunks(lfns, IN_CHUNK)) {
        const r = await tx.run(`${update} AND lfn IN (${marks(part.length)})`, [
          acted,
          runId,
          kind,
          site,
          ...part.map(lfnBytes),
        ])
        marked += r.changes
      }
      return marked
    })
  }

  /** Findings of a kind at a site that were acted on, in every run, oldest action first. */
  async actedFindings(site: string, kind: FindingKind): Promise<ActedFinding[]> {
    checkKind(kind)
    await this.init()
    const rows = await this.db.all(
      `SELECT run_id, lfn, size, inventory_size, acted FROM findings
       WHERE site = ? AND kind = ? AND acted IS NOT NULL ORDER BY acted, run_id, lfn`,
      [site, kind],
    )
    return rows.map((r) => ({ ...toFinding(r), acted: num(r.acted), runId: num(r.run_id) }))
  }

  /**
   * Forget the findings nobody acted on in all but the site's last
   * `keepRuns` runs (those acted on stay, as the history of what was
   * requested). Streaks then reach back no further than the kept runs.
   * Returns how many findings were forgotten.
   */
  async pruneFindings(site: string, keepRuns: number): Promise<number> {
    if (!Number.isInteger(keepRuns) || keepRuns < 1) throw new RangeError(`keepRuns must be 1 or more: ${keepRuns}`)
    await this.init()
    const oldestKept = (
      await this.db.all('SELECT id FROM site_runs WHERE site = ? ORDER BY id DESC LIMIT 1 OFFSET ?', [
        site,
        keepRuns - 1,
      ])
    )[0]
    if (!oldestKept) return 0
    const r = await this.db.run('DELETE FROM findings WHERE site = ? AND run_id < ? AND acted IS NULL', [
      site,
      num(oldestKept.id),
    ])
    return r.changes
  }

  close(): Promise<void> {
    return this.db.close()
  }
}

/**
 * Open the summary store: a SQLite file or a `mysql://` URL (default: the
 * configuration's `SummaryDatabase`, else `VarLocation/summary.db`). With
 * `readOnly`, nothing is created nor changed, and a store that does not
 * exist yet is an error.
 */
export async function openSummary(
  location: string = summaryLocation(),
  options: { readOnly?: boolean } = {},
): Promise<SummaryStore> {
  const readOnly = options.readOnly ?? false
  let db: Sql
  if (/^(mysql|mariadb):\/\//.test(location)) db = new MysqlSql(location, `SummaryDatabase ${redact(location)}`)
  else {
    if (readOnly && !fs.existsSync(location)) {
      throw new DatabaseError(`SummaryDatabase ${location}: no summary store here yet: a check writes it`)
    }
    if (!readOnly) fs.mkdirSync(path.dirname(location), { recursive: true })
    db = new SqliteSql(location)
  }
  const store = new SummaryStore(db, readOnly)
  try {
    await store.init()
  } catch (err) {
    await db.close().catch(() => undefined)
    throw err
  }
  return store
}
