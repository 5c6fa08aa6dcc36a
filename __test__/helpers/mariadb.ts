/**
 * A throwaway MariaDB server for tests: Debian's `mariadbd` in a temporary
 * data directory on a free loopback port, without grant tables (any user
 * connects). With `MYSQL_URL` set, that server is used instead, and every
 * database the tests create or drop carries the prefix `dc_test_` there, so
 * that a real `dynamo` or `consistency` on that server is never touched.
 *
 * Either server runs the tests in STRICT_SQL_MODE, so that a row Dynamo's
 * tables would refuse fails the test that writes it:
 * - the throwaway server is started with it (`--sql-mode`): every
 *   connection, the tool's own included, gets it;
 * - the `mysql` client sessions of `sql()` and the connections of
 *   `connect()` set it for their session, on either server;
 * - on a `MYSQL_URL` server, the tool's own connections (its pools, in the
 *   test process and in the CLI processes the tests start) take the
 *   server's global mode. When that differs, `startMariaDb` sets it with
 *   `SET GLOBAL sql_mode` (which needs the SUPER privilege) and `stop()`
 *   puts the server's own mode back (a run that dies before has it saved in
 *   the database `dc_test_saved_sql_mode`, and the next run restores it).
 *   When the user may not set it, `globalModeProblem` says so and the tests
 *   that run the tool against the server skip with that message
 *   (`skipUnlessStrict`). The test files that use a `MYSQL_URL` server take
 *   it one at a time (a named lock, held until `stop()`).
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process'
import * as fs from 'node:fs'
import * as net from 'node:net'
import * as os from 'node:os'
import * as path from 'node:path'
import type { Connection } from 'mysql2/promise'

/** The SQL mode of the tests' sessions: Dynamo's tables refuse what it refuses. */
export const STRICT_SQL_MODE =
  'STRICT_ALL_TABLES,NO_ZERO_DATE,NO_ZERO_IN_DATE,ERROR_FOR_DIVISION_BY_ZERO,NO_ENGINE_SUBSTITUTION'

export interface MariaDb {
  /** `mysql://root@127.0.0.1:PORT` (no database). */
  url: string
  port: number
  host: string
  /** Options for the `mysql` command-line client. */
  clientArgs: string[]
  /** The name the tests use on this server for database `name`. */
  db(name: string): string
  /** Run SQL through the `mysql` client (schema files, fixtures), in database `db(database)`, in STRICT_SQL_MODE. */
  sql(text: string, database?: string): string
  /** A connection of the tests' own (mysql2, promise API), to database `db(database)`, in STRICT_SQL_MODE. */
  connect(database?: string): Promise<Connection>
  /**
   * Why the tool's own connections to this server would not run in
   * STRICT_SQL_MODE (a `MYSQL_URL` server whose global mode this user may
   * not set); undefined when they do.
   */
  globalModeProblem?: string
  /** Kill the server at once (SIGKILL), as a crash would. */
  kill(): Promise<void>
  /** Start it again on the same data directory and port. */
  restart(): Promise<void>
  stop(): Promise<void>
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer()
    server.listen(0, '127.0.0.1', () => {
      const address = server.address()
      server.close(() =>
        typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port')),
      )
    })
  })
}

async function waitForPort(port: number, child: ChildProcess, log: string, seconds = 60): Promise<void> {
  const deadline = Date.now() + seconds * 1000
  while (Date.now() < deadline) {
    if (child.exitCode !== null) {
      throw new Error(`mariadbd exited with ${child.exitCode}:\n${fs.readFileSync(log, 'utf8').slice(-2000)}`)
    }
    const ok = await new Promise<boolean>((resolve) => {
      const s = net.connect(port, '127.0.0.1')
      s.once('connect', () => {
        s.destroy()
        resolve(true)
      })
      s.once('error', () => resolve(false))
    })
    if (ok && fs.readFileSync(log, 'utf8').includes('ready for connections')) return
    await new Promise((r) => setTimeout(r, 100))
  }
  throw new Error(`mariadbd did not start within ${seconds} s:\n${fs.readFileSync(log, 'utf8').slice(-2000)}`)
}

/** Whether `mode` is STRICT_SQL_MODE (the same flags in any order). */
function isStrict(mode: string): boolean {
  const flags = (m: string) => [...new Set(m.split(',').filter((f) => f !== ''))].sort().join(',')
  return flags(mode) === flags(STRICT_SQL_MODE)
}

const INIT = `--init-command=SET SESSION sql_mode = '${STRICT_SQL_MODE}'`

async function connectTo(url: string, database?: string): Promise<Connection> {
  const mysql: typeof import('mysql2/promise') = require('mysql2/promise')
  const conn = await mysql.createConnection(database === undefined ? url : `${url}/${encodeURIComponent(database)}`)
  await conn.query('SET SESSION sql_mode = ?', [STRICT_SQL_MODE])
  return conn
}

/** Skip the test (from `beforeEach` or the test) when the tool's connections to `server` would not be strict. */
export function skipUnlessStrict(
  server: MariaDb,
  context: { skip: (condition: boolean, note?: string) => void },
): void {
  context.skip(server.globalModeProblem !== undefined, server.globalModeProblem)
}

/** Where the server's own global mode is kept while the tests run with theirs. */
const SAVED_MODE = 'dc_test_saved_sql_mode'

/**
 * On a `MYSQL_URL` server: wait for the other test files to be done with it
 * (a named lock held by `guard` until `stop()`), then make the global mode
 * STRICT_SQL_MODE if this user may. Returns the problem when it may not.
 */
async function strictGlobalMode(guard: Connection, clientArgs: string[]): Promise<string | undefined> {
  const [[lock]] = (await guard.query("SELECT GET_LOCK('dc_test', 170) AS got")) as unknown as [[{ got: number }]]
  if (lock.got !== 1) throw new Error('MYSQL_URL: another test run has held the lock dc_test for 170 s')
  const [[row]] = (await guard.query('SELECT @@GLOBAL.sql_mode AS mode')) as unknown as [[{ mode: string }]]
  // a run that died left the server's own mode saved: put it back first
  const original = savedMode(clientArgs)
  if (original !== undefined) {
    await guard.query('SET GLOBAL sql_mode = ?', [original])
    client(clientArgs, `DROP DATABASE \`${SAVED_MODE}\``)
    row.mode = original
  }
  if (isStrict(row.mode)) return undefined
  try {
    await guard.query('SET GLOBAL sql_mode = @@GLOBAL.sql_mode')
  } catch (err) {
    return (
      `MYSQL_URL: the server's global sql_mode is '${row.mode}' and this user may not set it to ` +
      `'${STRICT_SQL_MODE}' (${(err as Error).message}): the tool's own connections would not be strict`
    )
  }
  // saved before it changes, so that a run that dies leaves it to the next
  client(
    clientArgs,
    `CREATE DATABASE \`${SAVED_MODE}\`; CREATE TABLE \`${SAVED_MODE}\`.saved (original TEXT NOT NULL);
     INSERT INTO \`${SAVED_MODE}\`.saved VALUES (${sqlString(row.mode)});`,
  )
  await guard.query('SET GLOBAL sql_mode = ?', [STRICT_SQL_MODE])
  return undefined
}

/** Put the server's own global mode back, if it was changed. */
async function restoreGlobalMode(guard: Connection, clientArgs: string[]): Promise<void> {
  const original = savedMode(clientArgs)
  if (original === undefined) return
  await guard.query('SET GLOBAL sql_mode = ?', [original])
  client(clientArgs, `DROP DATABASE \`${SAVED_MODE}\``)
}

const sqlString = (s: string) => `'${s.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`

function client(args: string[], text: string, database?: string): string {
  return execFileSync('mysql', [...args, '--batch', ...(database ? [database] : [])], {
    input: text,
    encoding: 'utf8',
    maxBuffer: 1 << 30,
  })
}

/** The server's own global mode saved by this run or by one that died, or undefined. */
function savedMode(args: string[]): string | undefined {
  const exists = client(args, `SHOW DATABASES LIKE '${SAVED_MODE.replace(/_/g, '\\_')}'`).trim() !== ''
  if (!exists) return undefined
  return client(args, `SELECT original FROM \`${SAVED_MODE}\`.saved`).split('\n')[1] ?? ''
}

/** Start a server (or use `MYSQL_URL`). */
export async function startMariaDb(): Promise<MariaDb> {
  const external = process.env.MYSQL_URL
  if (external) {
    const u = new URL(external)
    const port = Number(u.port || 3306)
    const host = u.hostname || '127.0.0.1'
    const clientArgs = [`--host=${host}`, `--port=${port}`, `--user=${decodeURIComponent(u.username || 'root')}`, INIT]
    if (u.password) clientArgs.push(`--password=${decodeURIComponent(u.password)}`)
    const none = async () => {
      throw new Error('cannot kill a server given by MYSQL_URL')
    }
    const db = (name: string) => `dc_test_${name}`
    const url = `mysql://${u.username ? `${u.username}${u.password ? `:${u.password}` : ''}@` : ''}${host}:${port}`
    const guard = await connectTo(url)
    let globalModeProblem: string | undefined
    try {
      globalModeProblem = await strictGlobalMode(guard, clientArgs)
    } catch (err) {
      await guard.end()
      throw err
    }
    return {
      url,
      port,
      host,
      clientArgs,
      db,
      sql: (text, database) => client(clientArgs, text, database === undefined ? undefined : db(database)),
      connect: (database) => connectTo(url, database === undefined ? undefined : db(database)),
      ...(globalModeProblem === undefined ? {} : { globalModeProblem }),
      kill: none,
      restart: none,
      async stop() {
        try {
          await restoreGlobalMode(guard, clientArgs)
          // drop what the tests made there, and nothing else
          const names = client(clientArgs, "SHOW DATABASES LIKE 'dc\\_test\\_%'").split('\n').slice(1)
          for (const name of names.filter((n) => n !== '')) client(clientArgs, `DROP DATABASE \`${name}\``)
        } finally {
          // the lock goes with the connection
          await guard.end()
        }
      },
    }
  }
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dc-mariadb-'))
  const datadir = path.join(dir, 'data')
  const asRoot = process.getuid?.() === 0 ? ['--user=root'] : []
  execFileSync(
    'mariadb-install-db',
    ['--no-defaults', `--datadir=${datadir}`, '--auth-root-authentication-method=normal', '--skip-test-db', ...asRoot],
    { stdio: 'ignore' },
  )
  const port = await freePort()
  const log = path.join(dir, 'server.log')
  let child: ChildProcess
  const start = async () => {
    fs.writeFileSync(log, '')
    child = spawn(
      'mariadbd',
      [
        '--no-defaults',
        `--datadir=${datadir}`,
        `--socket=${path.join(dir, 'mysqld.sock')}`,
        `--port=${port}`,
        '--bind-address=127.0.0.1',
        '--skip-grant-tables',
        '--skip-log-bin',
        '--innodb-buffer-pool-size=256M',
        '--max-connections=200',
        `--sql-mode=${STRICT_SQL_MODE}`,
        `--pid-file=${path.join(dir, 'mysqld.pid')}`,
        ...asRoot,
      ],
      { stdio: ['ignore', fs.openSync(log, 'a'), fs.openSync(log, 'a')] },
    )
    await waitForPort(port, child, log)
  }
  const exited = () =>
    new Promise<void>((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) resolve()
      else child.once('exit', () => resolve())
    })
  await start()
  const clientArgs = ['--protocol=tcp', '--host=127.0.0.1', `--port=${port}`, '--user=root', INIT]
  const url = `mysql://root@127.0.0.1:${port}`
  return {
    url,
    port,
    host: '127.0.0.1',
    clientArgs,
    db: (name) => name,
    sql: (text, database) => client(clientArgs, text, database),
    connect: (database) => connectTo(url, database),
    async kill() {
      child.kill('SIGKILL')
      await exited()
    },
    restart: start,
    async stop() {
      child.kill('SIGTERM')
      await exited()
      fs.rmSync(dir, { recursive: true, force: true })
    },
  }
}
