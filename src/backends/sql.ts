/**
 * One small interface over the two SQL databases the tool speaks to: the
 * embedded SQLite file (native, in process) and MySQL/MariaDB (`mysql2`).
 * Statements use `?` placeholders in both; the few places where the
 * dialects differ ask `dialect`.
 */
import { CancelledError, ConsistencyError } from '../errors'
import { openSqliteDatabase, type SqliteDatabase } from '../native'
import { chunks } from './chunks'

export type Param = number | string | Buffer | null
export type Row = Record<string, unknown>

/** A database error; the message names the database and the statement. */
export class DatabaseError extends ConsistencyError {
  /** The server's own error code (`ER_LOCK_DEADLOCK`, ...) when there is one. */
  readonly serverCode?: string

  constructor(message: string, serverCode?: string) {
    super('E_DATABASE', message)
    if (serverCode !== undefined) this.serverCode = serverCode
  }
}

/**
 * Server errors after which InnoDB has rolled the transaction back (or
 * would have to): the whole transaction is run again.
 */
const RETRY_TRANSACTION = new Set(['ER_LOCK_DEADLOCK', 'ER_LOCK_WAIT_TIMEOUT'])

/** How many times a transaction is tried before a deadlock is the caller's error. */
export const TRANSACTION_ATTEMPTS = 8

export interface RunResult {
  changes: number
  lastId: number
}

export interface Sql {
  readonly dialect: 'sqlite' | 'mysql'
  /** Where the database is, for messages (never a password). */
  readonly where: string
  all<T = Row>(sql: string, params?: readonly Param[]): Promise<T[]>
  run(sql: string, params?: readonly Param[]): Promise<RunResult>
  /** Run `fn` in one transaction: committed when it resolves, rolled back when it throws. */
  transaction<T>(fn: (tx: Sql) => Promise<T>): Promise<T>
  close(): Promise<void>
}

/** The first row of a query, or undefined. */
export async function one<T = Row>(db: Sql, sql: string, params: readonly Param[] = []): Promise<T | undefined> {
  return (await db.all<T>(sql, params))[0]
}

/**
 * Insert many rows with multi-row `VALUES` statements of `batch` rows
 * (`head` is the statement up to `VALUES`, `tail` what follows the values).
 */
export async function insertRows(
  db: Sql,
  head: string,
  rows: readonly (readonly Param[])[],
  tail = '',
  batch = 500,
): Promise<number> {
  let changes = 0
  for (const part of chunks(rows, batch)) {
    const width = (part[0] as readonly Param[]).length
    const one = `(${Array(width).fill('?').join(', ')})`
    const sql = `${head} VALUES ${Array(part.length).fill(one).join(', ')} ${tail}`
    changes += (await db.run(sql, part.flat())).changes
  }
  return changes
}

// ---- SQLite ----------------------------------------------------------------

/** The embedded SQLite database (WAL; other processes wait for its write lock). */
export class SqliteSql implements Sql {
  readonly dialect = 'sqlite'
  readonly native: SqliteDatabase
  // one connection: a transaction holds it until it ends, other statements wait
  private queue: Promise<unknown> = Promise.resolve()

  constructor(
    readonly where: string,
    native?: SqliteDatabase,
  ) {
    try {
      this.native = native ?? openSqliteDatabase(where)
    } catch (err) {
      throw asDatabaseError(err)
    }
  }

  private locked<T>(fn: () => Promise<T> | T): Promise<T> {
    const next = this.queue.then(fn, fn)
    this.queue = next.catch(() => undefined)
    return next
  }

  all<T = Row>(sql: string, params: readonly Param[] = []): Promise<T[]> {
    return this.locked(() => sqliteAll<T>(this.native, sql, params))
  }

  run(sql: string, params: readonly Param[] = []): Promise<RunResult> {
    return this.locked(() => sqliteRun(this.native, sql, params))
  }

  transaction<T>(fn: (tx: Sql) => Promise<T>): Promise<T> {
    return this.locked(async () => {
      const tx = new SqliteTx(this)
      call(() => this.native.exec('BEGIN IMMEDIATE'))
      try {
        const out = await fn(tx)
        call(() => this.native.exec('COMMIT'))
        return out
      } catch (err) {
        if (this.native.inTransaction) call(() => this.native.exec('ROLLBACK'))
        throw err
      } finally {
        tx.done = true
      }
    })
  }

  /** Run `fn` with the connection to itself (for the native fast paths). */
  withNative<T>(fn: (db: SqliteDatabase) => Promise<T> | T): Promise<T> {
    return this.locked(() => fn(this.native))
  }

  async close(): Promise<void> {
    await this.locked(() => call(() => this.native.close()))
  }
}

/** The view of a SQLite connection inside a transaction. */
class SqliteTx implements Sql {
  readonly dialect = 'sqlite'
  done = false

  constructor(private readonly db: SqliteSql) {}

  get where(): string {
    return this.db.where
  }

  private check(): void {
    if (this.done) throw new DatabaseError(`${this.where}: a statement after its transaction ended`)
  }

  async all<T = Row>(sql: string, params: readonly Param[] = []): Promise<T[]> {
    this.check()
    return sqliteAll<T>(this.db.native, sql, params)
  }

  async run(sql: string, params: readonly Param[] = []): Promise<RunResult> {
    this.check()
    return sqliteRun(this.db.native, sql, params)
  }

  transaction<T>(fn: (tx: Sql) => Promise<T>): Promise<T> {
    // already in one: the inner work joins it
    return fn(this)
  }

  async close(): Promise<void> {}
}

function asDatabaseError(err: unknown): unknown {
  if (err instanceof ConsistencyError && err.code === 'E_SQLITE') return new DatabaseError(err.message)
  return err
}

function call<T>(fn: () => T): T {
  try {
    return fn()
  } catch (err) {
    throw asDatabaseError(err)
  }
}

function sqliteAll<T>(db: SqliteDatabase, sql: string, params: readonly Param[]): T[] {
  const { columns, rows } = call(() => db.query(sql, [...params]))
  return rows.map((r) => {
    const o: Row = {}
    for (let i = 0; i < columns.length; i++) o[columns[i] as string] = r[i]
    return o as T
  })
}

function sqliteRun(db: SqliteDatabase, sql: string, params: readonly Param[]): RunResult {
  const r = call(() => db.run(sql, [...params]))
  return { changes: r.changes, lastId: r.lastInsertRowid }
}

// ---- MySQL -----------------------------------------------------------------

export interface MysqlTarget {
  host?: string
  port?: number
  socketPath?: string
  user: string
  password?: string
  database?: string
}

/**
 * Parse `mysql://user:password@host:port/database` (or
 * `mysql://user@localhost/database?socket=/path/to/mysqld.sock`).
 */
export function parseMysqlUrl(text: string, what: string): MysqlTarget {
  let url: URL
  try {
    url = new URL(text)
  } catch {
    throw new DatabaseError(`${what}: not a URL: ${redact(text)} (mysql://user:password@host:port/database)`)
  }
  if (url.protocol !== 'mysql:' && url.protocol !== 'mariadb:') {
    throw new DatabaseError(`${what}: ${redact(text)} is not a mysql:// URL`)
  }
  const target: MysqlTarget = { user: decodeURIComponent(url.username || 'root') }
  if (url.password) target.password = decodeURIComponent(url.password)
  const socket = url.searchParams.get('socket')
  if (socket) target.socketPath = socket
  else {
    target.host = url.hostname || 'localhost'
    if (url.port) target.port = Number(url.port)
  }
  const database = decodeURIComponent(url.pathname.replace(/^\//, ''))
  if (database) target.database = database
  return target
}

/**
 * A URL with its password hidden, for messages and pages. The user part
 * runs to the last `@` (a password may hold `@` or `/`, even unencoded,
 * which no URL parser reads back), and everything after the user's `:` in
 * it is hidden: a host's port before an `@` in the query is hidden too,
 * which is the safe side.
 */
export function redact(url: string): string {
  const start = url.indexOf('://')
  const at = url.lastIndexOf('@')
  if (start < 0 || at < start) return url
  const userinfo = url.slice(start + 3, at)
  const colon = userinfo.indexOf(':')
  if (colon < 0) return url
  return `${url.slice(0, start + 3)}${userinfo.slice(0, colon)}:***${url.slice(at)}`
}

type Pool = import('mysql2/promise').Pool
type PoolConnection = import('mysql2/promise').PoolConnection
type Queryable = Pool | PoolConnection

function mysqlError(where: string, sql: string, err: unknown): DatabaseError {
  const e = err as { message?: string; code?: string }
  const short = sql.length > 200 ? `${sql.slice(0, 200)}...` : sql
  return new DatabaseError(
    `${where}: ${e.code ? `${e.code}: ` : ''}${e.message ?? String(err)} (in \`${short}\`)`,
    e.code,
  )
}

async function mysqlAll<T>(q: Queryable, where: string, sql: string, params: readonly Param[]): Promise<T[]> {
  try {
    const [rows] = await q.query(sql, [...params])
    return rows as T[]
  } catch (err) {
    throw mysqlError(where, sql, err)
  }
}

async function mysqlRun(q: Queryable, where: string, sql: string, params: readonly Param[]): Promise<RunResult> {
  try {
    const [r] = await q.query(sql, [...params])
    const h = r as { affectedRows?: number; insertId?: number }
    return { changes: h.affectedRows ?? 0, lastId: h.insertId ?? 0 }
  } catch (err) {
    throw mysqlError(where, sql, err)
  }
}

/** A MySQL/MariaDB database through a small pool of connections. */
export class MysqlSql implements Sql {
  readonly dialect = 'mysql'
  readonly pool: Pool
  readonly target: MysqlTarget
  /** Transactions run again after a deadlock or a lock wait timeout, since this pool opened. */
  retries = 0

  constructor(
    url: string,
    readonly where: string = redact(url),
    connections = 4,
  ) {
    this.target = parseMysqlUrl(url, where)
    const mysql: typeof import('mysql2/promise') = require('mysql2/promise')
    this.pool = mysql.createPool({
      ...this.target,
      connectionLimit: connections,
      supportBigNumbers: true,
      // sizes up to 2^53 come back as numbers, bigger ones as strings
      bigNumberStrings: false,
      dateStrings: true,
      connectTimeout: 10_000,
      multipleStatements: false,
    })
  }

  /**
   * The rows of a query. With a `signal`, the query runs on a connection
   * of its own from the pool, and an abort rejects at once and closes that
   * connection (a query waiting on a table lock would otherwise wait for
   * as long as the lock is held).
   */
  all<T = Row>(sql: string, params: readonly Param[] = [], options: { signal?: AbortSignal } = {}): Promise<T[]> {
    const { signal } = options
    if (!signal) return mysqlAll<T>(this.pool, this.where, sql, params)
    return this.cancellable(signal, (conn) => mysqlAll<T>(conn, this.where, sql, params))
  }

  run(sql: string, params: readonly Param[] = []): Promise<RunResult> {
    return mysqlRun(this.pool, this.where, sql, params)
  }

  private async cancellable<T>(signal: AbortSignal, fn: (conn: PoolConnection) => Promise<T>): Promise<T> {
    const cancelled = () => new CancelledError('E_CANCELLED', `${this.where}: the query was cancelled`)
    if (signal.aborted) throw cancelled()
    let onAbort = () => {}
    const aborted = new Promise<never>((_, reject) => {
      onAbort = () => reject(cancelled())
      signal.addEventListener('abort', onAbort, { once: true })
    })
    const getting = this.pool.getConnection()
    let conn: PoolConnection | undefined
    try {
      conn = await Promise.race([getting, aborted]).catch((err) => {
        throw err instanceof CancelledError ? err : mysqlError(this.where, 'connect', err)
      })
      return await Promise.race([fn(conn), aborted])
    } finally {
      signal.removeEventListener('abort', onAbort)
      if (!conn) {
        // cancelled while waiting for a connection: it goes back to the pool when it comes
        getting.then((c) => c.release()).catch(() => undefined)
      } else if (signal.aborted) {
        // still busy with the cancelled query: closed, not handed to the next caller
        conn.destroy()
      } else conn.release()
    }
  }

  /**
   * Run `fn` in one transaction. Read committed, so that deleting one
   * site's rows takes no gap locks that other sites' inserts wait on; a
   * transaction the server ends for a deadlock or a lock wait is rolled
   * back and run again from the start (`fn` must touch nothing but the
   * database), up to TRANSACTION_ATTEMPTS times.
   */
  async transaction<T>(fn: (tx: Sql) => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.once(fn)
      } catch (err) {
        const code = err instanceof DatabaseError ? err.serverCode : undefined
        if (code === undefined || !RETRY_TRANSACTION.has(code) || attempt >= TRANSACTION_ATTEMPTS) throw err
        this.retries++
        // back off with jitter so that the two sides of a deadlock do not meet again
        await new Promise((r) => setTimeout(r, Math.random() * 20 * 2 ** Math.min(attempt, 6)))
      }
    }
  }

  private async once<T>(fn: (tx: Sql) => Promise<T>): Promise<T> {
    let conn: PoolConnection
    try {
      conn = await this.pool.getConnection()
    } catch (err) {
      throw mysqlError(this.where, 'connect', err)
    }
    const tx = new MysqlTx(conn, this.where)
    // errors of BEGIN and COMMIT become database errors; those of `fn` pass unchanged
    const step = async (sql: string, p: () => Promise<unknown>) => {
      try {
        await p()
      } catch (err) {
        throw mysqlError(this.where, sql, err)
      }
    }
    try {
      const isolation = 'SET TRANSACTION ISOLATION LEVEL READ COMMITTED'
      await step(isolation, () => conn.query(isolation))
      await step('BEGIN', () => conn.beginTransaction())
      const out = await fn(tx)
      await step('COMMIT', () => conn.commit())
      return out
    } catch (err) {
      try {
        await conn.rollback()
      } catch {
        // a connection that went away has rolled back by itself
      }
      throw err
    } finally {
      tx.done = true
      conn.release()
    }
  }

  async close(): Promise<void> {
    await this.pool.end()
  }
}

class MysqlTx implements Sql {
  readonly dialect = 'mysql'
  done = false

  constructor(
    readonly conn: PoolConnection,
    readonly where: string,
  ) {}

  private check(): void {
    if (this.done) throw new DatabaseError(`${this.where}: a statement after its transaction ended`)
  }

  all<T = Row>(sql: string, params: readonly Param[] = []): Promise<T[]> {
    this.check()
    return mysqlAll<T>(this.conn, this.where, sql, params)
  }

  run(sql: string, params: readonly Param[] = []): Promise<RunResult> {
    this.check()
    return mysqlRun(this.conn, this.where, sql, params)
  }

  transaction<T>(fn: (tx: Sql) => Promise<T>): Promise<T> {
    return fn(this)
  }

  async close(): Promise<void> {}
}

/** Open a SQLite file or a `mysql://` URL. */
export function openSql(location: string, connections = 4): Sql {
  return /^(mysql|mariadb):\/\//.test(location)
    ? new MysqlSql(location, undefined, connections)
    : new SqliteSql(location)
}
