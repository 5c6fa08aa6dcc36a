import { type ChildProcess, spawn, spawnSync } from 'node:child_process'
import * as fs from 'node:fs'
import * as net from 'node:net'
import * as path from 'node:path'
import { tempDir } from './cli'
import { startSlowProxy } from './slow-proxy.mjs'

/** Whether a command is on the PATH. */
export function have(binary: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${binary}`]).status === 0
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer()
    s.once('error', reject)
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo
      s.close(() => resolve(port))
    })
  })
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = net.connect(port, '127.0.0.1')
    sock.once('connect', () => {
      sock.destroy()
      resolve(true)
    })
    sock.once('error', () => {
      sock.destroy()
      resolve(false)
    })
  })
}

/**
 * A real `xrootd` (Debian `xrootd-server`) on a free loopback port,
 * exporting `data` as LFN `/` with no authentication. xrootd refuses to run
 * as root, so as root it runs as user `xrootd`, which owns the admin
 * directory and must be able to read the exported tree.
 */
export class XrootdServer {
  readonly work: string
  readonly data: string
  port = 0
  /** Further configuration lines (security: `xrootd.seclib`, `sec.protocol`). */
  security: string[] = []
  private child: ChildProcess | null = null

  constructor() {
    this.work = tempDir('xrootd')
    this.data = path.join(this.work, 'data')
    fs.mkdirSync(this.data)
    fs.mkdirSync(path.join(this.work, 'admin'))
    if (process.getuid?.() === 0) spawnSync('chown', ['-R', 'xrootd', path.join(this.work, 'admin')])
  }

  /** The admin directory: the server's own files (keys, keytabs), owned by the user it runs as. */
  get admin(): string {
    return path.join(this.work, 'admin')
  }

  /** Copy `file` into the admin directory as the server's own, readable by it alone. */
  own(file: string): string {
    const to = path.join(this.admin, path.basename(file))
    fs.copyFileSync(file, to)
    fs.chmodSync(to, 0o600)
    if (process.getuid?.() === 0) spawnSync('chown', ['xrootd', to])
    return to
  }

  get hostPort(): string {
    return `127.0.0.1:${this.port}`
  }

  /** `root://127.0.0.1:PORT//lfn` */
  url(lfn: string): string {
    return `root://${this.hostPort}/${lfn}`
  }

  /** Start, or start again on the same port, and wait until it accepts connections. */
  async start(): Promise<void> {
    if (!this.port) this.port = await freePort()
    const admin = path.join(this.work, 'admin')
    const cfg = path.join(this.work, 'xrootd.cfg')
    fs.writeFileSync(
      cfg,
      [
        `xrd.port ${this.port}`,
        'all.export /',
        `oss.localroot ${this.data}`,
        `all.adminpath ${admin}`,
        `all.pidpath ${admin}`,
        'xrd.network nodnr',
        ...this.security,
        '',
      ].join('\n'),
    )
    const asRoot = process.getuid?.() === 0
    const args = [...(asRoot ? ['-R', 'xrootd'] : []), '-c', cfg, '-l', path.join(admin, 'xrootd.log')]
    const child = spawn('xrootd', args, { stdio: 'ignore' })
    this.child = child
    for (let i = 0; i < 200; i++) {
      if (child.exitCode !== null) throw new Error(`xrootd exited with ${child.exitCode}: ${this.log()}`)
      if (await canConnect(this.port)) return
      await new Promise((r) => setTimeout(r, 50))
    }
    throw new Error(`xrootd did not start on port ${this.port}: ${this.log()}`)
  }

  log(): string {
    try {
      return fs.readFileSync(path.join(this.work, 'admin', 'xrootd.log'), 'utf8').slice(-3000)
    } catch {
      return ''
    }
  }

  /** Kill at once, as a crash would. */
  async kill(): Promise<void> {
    const child = this.child
    this.child = null
    if (!child || child.exitCode !== null) return
    const exited = new Promise((r) => child.once('exit', r))
    child.kill('SIGKILL')
    await exited
  }

  /** Stop the server (SIGSTOP): connections stay open and nothing is answered. */
  pause(): void {
    this.child?.kill('SIGSTOP')
  }

  /** Continue a stopped server (SIGCONT). */
  resume(): void {
    this.child?.kill('SIGCONT')
  }

  async stop(): Promise<void> {
    await this.kill()
    spawnSync('chmod', ['-R', 'u+rwx', this.work])
    fs.rmSync(this.work, { recursive: true, force: true })
  }
}

/** A loopback listener that accepts connections and never answers. */
export async function silentServer(): Promise<{ port: number; close: () => Promise<void> }> {
  const sockets: net.Socket[] = []
  const server = net.createServer((s) => {
    sockets.push(s)
    s.on('error', () => {})
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  const { port } = server.address() as net.AddressInfo
  return {
    port,
    close: () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy()
        server.close(() => r())
      }),
  }
}

/** The delaying proxy of `slow-proxy.mjs` (shared with the benchmark). */
export const slowProxy: (
  upstreamPort: number,
  delayMs: number,
) => Promise<{ port: number; requests: Map<number, number>; close: () => Promise<void> }> = startSlowProxy
