// XRootD listing benchmark: a generated tree exported by a local `xrootd`,
// listed (a) over loopback as it is and (b) through a proxy that delays
// every request by 5 ms, serially per connection, as a busy storage door
// does. Our native lister with 1, 4 and 16 connections and our xrdfs lister
// against `xrdfs HOST ls -R -l` on the same tree, and (a) against `find`
// over the exported directory.
//
// Standalone: node bench/xrootd.mjs [--quick] [--loopback] (--loopback: only
// the loopback condition, for quick comparisons)
import { spawn, spawnSync } from 'node:child_process'
import * as fs from 'node:fs'
import * as net from 'node:net'
import * as os from 'node:os'
import * as path from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { Worker } from 'node:worker_threads'
import { CLI, fmt, measure, q, ROOT, table } from './lib.mjs'

const DELAY_MS = 5

/** `dirs` directories of `perDir` files, CMS-like names; returns the bytes of the file names. */
export function generateTree(root, dirs, perDir) {
  let nameBytes = 0
  for (let d = 0; d < dirs; d++) {
    const dir = path.join(root, 'store', 'mc', `Era${d % 8}`, `Primary${Math.floor(d / 8) % 100}`, `d${d}`)
    fs.mkdirSync(dir, { recursive: true })
    for (let i = 0; i < perDir; i++) {
      const name = `${(d * perDir + i).toString(36).padStart(6, '0')}-AODSIM.root`
      fs.closeSync(fs.openSync(path.join(dir, name), 'w'))
      nameBytes += Buffer.byteLength(name)
    }
  }
  return nameBytes
}

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer()
    s.once('error', reject)
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address()
      s.close(() => resolve(port))
    })
  })
}

function waitForPort(port, child, seconds) {
  const deadline = Date.now() + seconds * 1000
  return new Promise((resolve, reject) => {
    const attempt = () => {
      if (child.exitCode !== null) return reject(new Error(`xrootd exited with ${child.exitCode}`))
      const sock = net.connect(port, '127.0.0.1')
      sock.once('connect', () => {
        sock.destroy()
        resolve()
      })
      sock.once('error', () => {
        sock.destroy()
        if (Date.now() > deadline) reject(new Error(`xrootd did not listen on ${port}`))
        else setTimeout(attempt, 100)
      })
    }
    attempt()
  })
}

/**
 * Start xrootd exporting `data` (LFN `/` = `data`), on `port` or a free one;
 * runs as user xrootd when we are root.
 */
export async function startXrootd(work, data, port) {
  const admin = path.join(work, 'admin')
  fs.mkdirSync(admin, { recursive: true })
  const root = process.getuid?.() === 0
  if (root) spawnSync('chown', ['-R', 'xrootd', admin])
  port ??= await freePort()
  const cfg = path.join(work, 'xrootd.cfg')
  fs.writeFileSync(
    cfg,
    `xrd.port ${port}\nall.export /\noss.localroot ${data}\nall.adminpath ${admin}\nall.pidpath ${admin}\nxrd.network nodnr\n`,
  )
  const args = [...(root ? ['-R', 'xrootd'] : []), '-c', cfg, '-l', path.join(admin, 'xrootd.log')]
  const child = spawn('xrootd', args, { stdio: 'ignore' })
  await waitForPort(port, child, 20)
  return { port, pid: child.pid, stop: () => child.kill('SIGKILL') }
}

/**
 * The delaying proxy of `__test__/helpers/slow-proxy.mjs` on its own thread:
 * the benchmark's commands run synchronously on the main thread.
 */
function startSlowProxy(upstreamPort, delayMs) {
  const module = pathToFileURL(path.join(ROOT, '__test__', 'helpers', 'slow-proxy.mjs')).href
  const code = `
    const { parentPort, workerData } = require('node:worker_threads')
    import(workerData.module)
      .then(({ startSlowProxy }) => startSlowProxy(workerData.upstreamPort, workerData.delayMs))
      .then((proxy) => parentPort.postMessage(proxy.port))
  `
  const worker = new Worker(code, { eval: true, workerData: { upstreamPort, delayMs, module } })
  return new Promise((resolve, reject) => {
    worker.once('message', (port) => resolve({ port, stop: () => worker.terminate() }))
    worker.once('error', reject)
  })
}

/** User + system CPU seconds a process has used so far (Linux /proc). */
function cpuSeconds(pid) {
  const fields = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ')
  return (Number(fields[11]) + Number(fields[12])) / 100
}

/**
 * `measure` with the CPU time of the command (from GNU time's own report)
 * and of the server while it ran: on a small machine both compete for the
 * same cores, so the sum bounds the wall time.
 */
function measureCpu(script, serverPid, opts) {
  const cpuFile = path.join(os.tmpdir(), `dc-bench-cpu-${process.pid}`)
  const before = cpuSeconds(serverPid)
  const r = measure(`/usr/bin/time -o ${q(cpuFile)} -f '%U %S' bash -c ${q(script)}`, opts)
  const server = cpuSeconds(serverPid) - before
  const [user, sys] = fs.readFileSync(cpuFile, 'utf8').trim().split('\n').pop().split(' ').map(Number)
  fs.rmSync(cpuFile, { force: true })
  return { ...r, clientCpu: user + sys, serverCpu: server }
}

export function countLines(text) {
  let n = 0
  for (let i = text.indexOf('\n'); i !== -1; i = text.indexOf('\n', i + 1)) n++
  return n
}

function rate(files, seconds) {
  return Math.round(files / seconds).toLocaleString('en')
}

export async function run({ quick = false, loopbackOnly = false } = {}) {
  const dirs = quick ? 2_000 : 20_000
  const perDir = 10
  const files = dirs * perDir
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'dc-bench-xrootd-'))
  fs.chmodSync(work, 0o755)
  const data = path.join(work, 'data')
  fs.mkdirSync(data)
  const cleanups = []
  try {
    const nameBytes = generateTree(data, dirs, perDir)
    const server = await startXrootd(work, data)
    cleanups.push(server.stop)
    const proxy = await startSlowProxy(server.port, DELAY_MS)
    cleanups.push(proxy.stop)
    const env = { XRD_REQUESTTIMEOUT: '600', XRD_CONNECTIONRETRY: '1' }

    // the machine may be shared: on loopback (seconds a run) each figure is the best of three
    const best = (times, once) => {
      let fastest = null
      for (let i = 0; i < times; i++) {
        const r = once()
        if (!fastest || r.seconds < fastest.seconds) fastest = r
      }
      return fastest
    }
    // every run must see every file: a fast wrong answer is no answer
    const ours = (port, threads, method, depth) => {
      const url = `root://127.0.0.1:${port}//store`
      const r = measureCpu(
        `node ${q(CLI)} list ${q(url)} --threads ${threads} --method ${method}${depth === undefined ? '' : ` --depth ${depth}`} --format text`,
        server.pid,
        { env },
      )
      const n = countLines(r.stdout)
      if (n !== files) throw new Error(`${method} with ${threads} connections listed ${n} files, not ${files}`)
      return r
    }
    const xrdfsRecursive = (port) => {
      const r = measureCpu(`xrdfs 127.0.0.1:${port} ls -R -l /store`, server.pid, { env })
      const n = r.stdout.split('\n').filter((l) => l.startsWith('-')).length
      if (n !== files) throw new Error(`xrdfs ls -R -l listed ${n} files, not ${files}`)
      return r
    }
    // the memory floor: the same command over an empty directory
    const emptyUrl = `root://127.0.0.1:${server.port}//store/mc/Era0/Primary0/d0`
    measure(`find ${q(data)} > /dev/null`) // warm the caches
    const base = measure(`node ${q(CLI)} list ${q(emptyUrl)} --format text > /dev/null`, { env })

    const rows = []
    const conditions = [
      { name: 'loopback', port: server.port, find: true },
      { name: `slow (+${DELAY_MS} ms/request)`, port: proxy.port, find: false },
    ].slice(0, loopbackOnly ? 1 : 2)
    let memory = null
    for (const c of conditions) {
      const times = c.find ? 3 : 1
      const ref = best(times, () => xrdfsRecursive(c.port))
      const find = c.find
        ? best(times, () => measureCpu(`find ${q(data)} -printf '%s %T@ %p\\n' | wc -l`, server.pid))
        : null
      const row = (lister, r) => {
        const out = {
          condition: c.name,
          lister,
          s: fmt(r.seconds),
          'files/s': rate(files, r.seconds),
          'vs xrdfs ls -R -l': `${fmt(ref.seconds / r.seconds)}x`,
          'vs find': find ? `${fmt(find.seconds / r.seconds)}x` : '',
          'client CPU s': fmt(r.clientCpu),
          'server CPU s': fmt(r.serverCpu),
          'peak MB': fmt(r.peakMB, 0),
        }
        rows.push(out)
      }
      row('`xrdfs ls -R -l` (reference)', ref)
      if (find) row('`find` (floor)', find)
      for (const threads of [1, 4, 16]) {
        const r = best(times, () => ours(c.port, threads, 'native'))
        row(`native, ${threads} connection${threads > 1 ? 's' : ''}`, r)
        if (c.find && threads === 4) memory = r
      }
      // one synchronous request per connection at a time, as before the requests were pipelined
      row(
        'native, 16 connections, --depth 0',
        best(times, () => ours(c.port, 16, 'native', 0)),
      )
      row(
        'xrdfs lister, 16 shells',
        best(times, () => ours(c.port, 16, 'xrdfs')),
      )
    }
    const perFile = ((memory.peakMB - base.peakMB) * 2 ** 20 - nameBytes) / files
    const markdown = [
      `Tree: ${files.toLocaleString('en')} files in ${dirs.toLocaleString('en')} leaf directories, exported by a local xrootd ${xrootdVersion()}; ${os.cpus().length} cores (${os.cpus()[0]?.model ?? ''}), server and client on the same machine.`,
      '',
      table(rows),
      '',
      `Memory: the native listing with 4 connections peaked at ${fmt(memory.peakMB, 0)} MB against ${fmt(base.peakMB, 0)} MB for an empty directory: ${fmt(perFile, 0)} bytes per file beyond the ${fmt(nameBytes / files, 0)} bytes of its name.`,
    ].join('\n')
    return { name: 'xrootd', markdown, rows }
  } finally {
    for (const c of cleanups.reverse()) await c()
    fs.rmSync(work, { recursive: true, force: true })
  }
}

function xrootdVersion() {
  const r = spawnSync('xrootd', ['-v'], { encoding: 'utf8' })
  return `${r.stdout}${r.stderr}`.trim().split('\n')[0] ?? ''
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const result = await run({
    quick: process.argv.includes('--quick'),
    loopbackOnly: process.argv.includes('--loopback'),
  })
  console.log(result.markdown)
}
