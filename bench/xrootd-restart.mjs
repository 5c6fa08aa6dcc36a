// A listing that survives a server restart: a generated tree of 1,000,000
// empty files in 100,000 directories (--quick: a tenth) is exported by a
// local xrootd and listed with 16 connections; 4 s in (0.5 s with --quick),
// the server is killed with SIGKILL and started again on the same port 4 s
// later. The listing
// must end with exit status 0, no unlisted directory, and exactly the files
// `find` sees in the export (names, sizes, mtimes).
//
// Standalone: node bench/xrootd-restart.mjs [--quick]
import { spawn } from 'node:child_process'
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import { fileURLToPath } from 'node:url'
import { CLI, fmt, measure, q, table } from './lib.mjs'
import { generateTree, startXrootd } from './xrootd.mjs'

const DOWN_S = 4

/** `find`'s view of the export, as `list --format text` writes it: `LFN|size|mtime`, sorted by bytes. */
function findLines(data) {
  const out = measure(`find ${q(data)} -type f -printf '%s %T@ %P\\n'`).stdout
  const lines = []
  for (const rec of out.split('\n')) {
    if (rec === '') continue
    const [size, mtime, ...rest] = rec.split(' ')
    lines.push(`/${rest.join(' ')}|${size}|${Math.floor(Number(mtime))}`)
  }
  return lines.sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)))
}

export async function run({ quick = false } = {}) {
  const dirs = quick ? 10_000 : 100_000
  const perDir = 10
  const files = dirs * perDir
  // well inside the listing: it takes about 10 s for 1M files here
  const killAfter = quick ? 0.5 : 4
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'dc-bench-restart-'))
  fs.chmodSync(work, 0o755)
  const data = path.join(work, 'data')
  fs.mkdirSync(data)
  let server = null
  try {
    generateTree(data, dirs, perDir)
    server = await startXrootd(work, data)
    const port = server.port
    const out = path.join(work, 'listing.txt')
    const errFile = path.join(work, 'listing.err')
    const t0 = Date.now()
    const child = spawn(
      process.execPath,
      [CLI, 'list', `root://127.0.0.1:${port}//store`, '--threads', '16', '--format', 'text'],
      { stdio: ['ignore', fs.openSync(out, 'w'), fs.openSync(errFile, 'w')] },
    )
    const exited = new Promise((resolve) => child.once('exit', (code) => resolve(code)))
    await new Promise((r) => setTimeout(r, killAfter * 1000))
    const killedAt = (Date.now() - t0) / 1000
    const stillRunning = child.exitCode === null
    server.stop()
    await new Promise((r) => setTimeout(r, DOWN_S * 1000))
    server = await startXrootd(work, data, port)
    const code = await exited
    const seconds = (Date.now() - t0) / 1000
    const stderr = fs.readFileSync(errFile, 'utf8')
    const got = fs
      .readFileSync(out, 'utf8')
      .split('\n')
      .filter((l) => l !== '')
    const want = findLines(data)
    const wantSet = new Set(want)
    const gotSet = new Set(got)
    const missing = want.filter((l) => !gotSet.has(l)).length
    const extra = got.filter((l) => !wantSet.has(l)).length
    const more = Number(/and (\d+) more unlisted/.exec(stderr)?.[1] ?? 0)
    const unlisted = (stderr.match(/^unlisted: /gm)?.length ?? 0) + more
    const ok = code === 0 && stillRunning && unlisted === 0 && missing === 0 && extra === 0 && got.length === files
    const rows = [
      {
        files: files.toLocaleString('en'),
        'killed at s': fmt(killedAt),
        'down s': String(DOWN_S),
        'listing s': fmt(seconds),
        'exit status': String(code),
        'lines listed': got.length.toLocaleString('en'),
        'not listed': String(missing),
        invented: String(extra),
        unlisted: String(unlisted),
        verdict: ok ? 'every file, nothing else' : 'FAILED',
      },
    ]
    const markdown = [
      `Tree: ${files.toLocaleString('en')} files in ${dirs.toLocaleString('en')} leaf directories; 16 connections; the server killed ${killAfter} s in and started again ${DOWN_S} s later.`,
      '',
      table(rows),
      stillRunning ? '' : '\n(The listing had ended before the kill: use a bigger tree.)',
    ].join('\n')
    if (!ok) throw new Error(`the listing did not survive the restart:\n${markdown}\n${stderr.slice(-2000)}`)
    return { name: 'xrootd-restart', markdown, rows }
  } finally {
    server?.stop()
    fs.rmSync(work, { recursive: true, force: true })
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const result = await run({ quick: process.argv.includes('--quick') })
  console.log(result.markdown)
}
