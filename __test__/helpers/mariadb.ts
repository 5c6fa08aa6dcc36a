/**
 * A throwaway MariaDB server for tests: Debian's `mariadbd` in a temporary
 * data directory on a free loopback port, without grant tables (any user
 * connects). With `MYSQL_URL` set, that server is used instead, and every
 * database the tests create or drop carries the prefix `dc_test_` there, so
 * that a real `dynamo` or `consistency` on that server is never touched.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process'
import * as fs from 'node:fs'
import * as net from 'node:net'
import * as os from 'node:os'
import * as path from 'node:path'

export interface MariaDb {
  /** `mysql://root@127.0.0.1:PORT` (no database). */
  url: string
  port: number
  host: string
  /** Options for the `mysql` command-line client. */
  clientArgs: string[]
  /** The name the tests use on this server for database `name`. */
  db(name: string): string
  /** Run SQL through the `mysql` client (schema files, fixtures), in database `db(database)`. */
  sql(text: string, database?: string): string
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

function client(args: string[], text: string, database?: string): string {
  return execFileSync('mysql', [...args, '--batch', ...(database ? [database] : [])], {
    input: text,
    encoding: 'utf8',
    maxBuffer: 1 << 30,
  })
}

/** Start a server (or use `MYSQL_URL`). */
export async function startMariaDb(): Promise<MariaDb> {
  const external = process.env.MYSQL_URL
  if (external) {
    const u = new URL(external)
    const port = Number(u.port || 3306)
    const host = u.hostname || '127.0.0.1'
    const clientArgs = [`--host=${host}`, `--port=${port}`, `--user=${decodeURIComponent(u.username || 'root')}`]
    if (u.password) clientArgs.push(`--password=${decodeURIComponent(u.password)}`)
    const none = async () => {
      throw new Error('cannot kill a server given by MYSQL_URL')
    }
    const db = (name: string) => `dc_test_${name}`
    return {
      url: `mysql://${u.username ? `${u.username}${u.password ? `:${u.password}` : ''}@` : ''}${host}:${port}`,
      port,
      host,
      clientArgs,
      db,
      sql: (text, database) => client(clientArgs, text, database === undefined ? undefined : db(database)),
      kill: none,
      restart: none,
      async stop() {
        // drop what the tests made there, and nothing else
        const names = client(clientArgs, "SHOW DATABASES LIKE 'dc\\_test\\_%'").split('\n').slice(1)
        for (const name of names.filter((n) => n !== '')) client(clientArgs, `DROP DATABASE \`${name}\``)
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
  const clientArgs = ['--protocol=tcp', '--host=127.0.0.1', `--port=${port}`, '--user=root']
  return {
    url: `mysql://root@127.0.0.1:${port}`,
    port,
    host: '127.0.0.1',
    clientArgs,
    db: (name) => name,
    sql: (text, database) => client(clientArgs, text, database),
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
