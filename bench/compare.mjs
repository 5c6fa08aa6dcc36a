// Compare benchmark: inventory and storage listing files of N files a side
// (bench/listings.mjs: two directory shapes, two name lengths; 0.1% missing,
// 0.1% orphans, 0.05% size mismatches). Our `compare` against two
// references on the same files in the same run:
//
// - `LC_ALL=C sort` of both files, then `comm -3`;
// - DuckDB: for each direction an ANTI JOIN on (LFN, size) of the two files
//   read as CSV, written sorted (the `duckdb` package from PyPI, in a
//   virtual environment the benchmark makes once).
//
// Every row checks that the three give the same missing and orphan LFNs.
// Ours twice: the command line (which compares two listing files without
// trees) and the trees the TypeScript API builds (bench/compare-trees.mjs).
// `--huge`: 100 million files a side against `sort -S 2G | comm -3` alone.
import { spawnSync } from 'node:child_process'
import * as fs from 'node:fs'
import { createRequire } from 'node:module'
import * as os from 'node:os'
import * as path from 'node:path'
import { CLI, fmt, measure, measureSteps, q, ROOT, table } from './lib.mjs'
import { generate } from './listings.mjs'

const require = createRequire(import.meta.url)

const DUCKDB_SQL = `
import sys, duckdb
inventory, remote, out = sys.argv[1:4]
con = duckdb.connect()
def listing(p):
    return ("read_csv('%s', delim='|', header=false, quote='', escape='', "
            "columns={'lfn': 'VARCHAR', 'size': 'UBIGINT', 'mtime': 'BIGINT'})" % p)
for name, a, b in (('missing', inventory, remote), ('orphan', remote, inventory)):
    con.sql("COPY (SELECT a.lfn, a.size FROM %s a ANTI JOIN %s b ON a.lfn = b.lfn AND a.size = b.size ORDER BY 1) "
            "TO '%s_%s.txt' (HEADER false, DELIMITER '|', QUOTE '')" % (listing(a), listing(b), out, name))
`

/** A Python with the `duckdb` package, made once; null (with why) when it cannot be. */
function duckdbPython() {
  const venv = path.join(os.tmpdir(), 'dynamo-consistency-bench-duckdb')
  const python = path.join(venv, 'bin', 'python')
  const has = () => spawnSync(python, ['-c', 'import duckdb'], { stdio: 'ignore' }).status === 0
  if (fs.existsSync(python) && has()) return { python }
  const steps = [
    ['python3', ['-m', 'venv', venv]],
    [path.join(venv, 'bin', 'pip'), ['install', '--quiet', 'duckdb']],
  ]
  for (const [cmd, args] of steps) {
    const r = spawnSync(cmd, args, { encoding: 'utf8' })
    if (r.status !== 0)
      return {
        python: null,
        why: `${cmd} ${args.join(' ')}: ${(r.stderr || r.error?.message || '').trim().split('\n').pop()}`,
      }
  }
  return has() ? { python } : { python: null, why: 'duckdb does not import after pip install' }
}

/** The LFNs of a list file, sorted: the part before the first `|`, after a leading tab. */
function lfnsOf(file, pick = () => true) {
  if (!fs.existsSync(file)) return []
  return fs
    .readFileSync(file, 'latin1')
    .split('\n')
    .filter((l) => l !== '' && pick(l))
    .map((l) => l.replace(/^\t/, '').split('|')[0])
    .sort()
}

function sameLists(label, want, got) {
  for (const kind of ['missing', 'orphan']) {
    const [a, b] = [want[kind], got[kind]]
    if (a.length !== b.length || a.some((x, i) => x !== b[i])) {
      throw new Error(`${label}: ${b.length} ${kind} LFNs where ours has ${a.length}, or different ones`)
    }
  }
}

const median = (list) => list.sort((a, b) => a.seconds - b.seconds)[Math.floor(list.length / 2)]
const ratio = (ref, ours) => (ref ? `${fmt(ref.seconds / ours.seconds, 1)}x` : 'n/a')

/** One row: ours, sort | comm and DuckDB on one generated pair of files. */
function row(dir, n, shape, length, duck, runs) {
  const { inventory, remote, expected } = generate(dir, n, { shape, length })
  const out = path.join(dir, 'ours')
  // write the generated files out, then warm the page cache for every contender
  measure(`sync; cat ${q(inventory)} ${q(remote)} > /dev/null`)
  const ours = median(
    Array.from({ length: runs }, () =>
      measure(`node ${q(CLI)} compare ${q(inventory)} ${q(remote)} --output ${q(out)} --json`),
    ),
  )
  const summary = JSON.parse(ours.stdout)
  const wantMissing = expected.missing + expected.mismatch
  const wantOrphan = expected.orphan + expected.mismatch
  if (summary.missing.count !== wantMissing || summary.orphan.count !== wantOrphan) {
    throw new Error(
      `compare found ${summary.missing.count}/${summary.orphan.count}, planted ${wantMissing}/${wantOrphan}`,
    )
  }
  const oursLists = { missing: lfnsOf(`${out}_missing.txt`), orphan: lfnsOf(`${out}_orphan.txt`) }
  // the same comparison through the trees, as the TypeScript API builds them
  const trees = median(
    Array.from({ length: runs }, () =>
      measure(`node ${q(path.join(ROOT, 'bench', 'compare-trees.mjs'))} ${q(inventory)} ${q(remote)}`),
    ),
  )
  const treeCounts = JSON.parse(trees.stdout)
  if (treeCounts.missing !== wantMissing || treeCounts.orphan !== wantOrphan) {
    throw new Error(`the trees found ${treeCounts.missing}/${treeCounts.orphan}, planted ${wantMissing}/${wantOrphan}`)
  }
  const comm = path.join(dir, 'comm.txt')
  const sortComm = median(
    Array.from({ length: runs }, () =>
      measureSteps([
        `LC_ALL=C sort ${q(inventory)} > ${q(`${inventory}.sorted`)}`,
        `LC_ALL=C sort ${q(remote)} > ${q(`${remote}.sorted`)}`,
        `LC_ALL=C comm -3 ${q(`${inventory}.sorted`)} ${q(`${remote}.sorted`)} > ${q(comm)}`,
      ]),
    ),
  )
  sameLists('sort | comm -3', oursLists, {
    missing: lfnsOf(comm, (l) => !l.startsWith('\t')),
    orphan: lfnsOf(comm, (l) => l.startsWith('\t')),
  })
  fs.rmSync(`${inventory}.sorted`)
  fs.rmSync(`${remote}.sorted`)
  let duckdb = null
  if (duck.python) {
    const script = path.join(dir, 'anti-join.py')
    fs.writeFileSync(script, DUCKDB_SQL)
    const base = path.join(dir, 'duckdb')
    duckdb = median(
      Array.from({ length: runs }, () =>
        measure(`${q(duck.python)} ${q(script)} ${q(inventory)} ${q(remote)} ${q(base)}`),
      ),
    )
    sameLists('DuckDB', oursLists, { missing: lfnsOf(`${base}_missing.txt`), orphan: lfnsOf(`${base}_orphan.txt`) })
  }
  const bytes = fs.statSync(inventory).size + fs.statSync(remote).size
  for (const f of fs.readdirSync(dir)) fs.rmSync(path.join(dir, f))
  return {
    files: n.toLocaleString('en'),
    shape: shape === 'dirs' ? '~200 a dir' : '1 a dir',
    'LFN bytes': length === 'short' ? '~70' : '~165',
    'input MB': fmt(bytes / 1e6, 0),
    'ours s': fmt(ours.seconds),
    'ours MB': fmt(ours.peakMB, 0),
    'trees s': fmt(trees.seconds),
    'trees MB': fmt(trees.peakMB, 0),
    'sort+comm s': fmt(sortComm.seconds),
    'DuckDB s': duckdb ? fmt(duckdb.seconds) : 'n/a',
    'DuckDB MB': duckdb ? fmt(duckdb.peakMB, 0) : 'n/a',
    'vs sort+comm': ratio(sortComm, ours),
    'vs DuckDB': ratio(duckdb, ours),
    'trees vs DuckDB': ratio(duckdb, trees),
  }
}

/** The TypeScript `datatypes.compare` against the bare native call, in-process, median of 7. */
async function apiOverhead(dir) {
  const { inventory, remote } = generate(dir, 1_000_000, { shape: 'dirs', length: 'short' })
  const binding = require(path.join(ROOT, 'index.js'))
  const datatypes = require(path.join(ROOT, 'dist', 'datatypes.js'))
  const t0 = process.hrtime.bigint()
  const [a, b] = await Promise.all([
    datatypes.DirectoryInfo.fromListing(inventory),
    datatypes.DirectoryInfo.fromListing(remote),
  ])
  const readMs = Number(process.hrtime.bigint() - t0) / 1e6
  const timed = async (fn) => {
    const times = []
    for (let i = 0; i < 7; i++) {
      const t = process.hrtime.bigint()
      await fn()
      times.push(Number(process.hrtime.bigint() - t) / 1e6)
    }
    return times.sort((x, y) => x - y)[3]
  }
  const nativeMs = await timed(() => binding.compareAsync(a.tree, b.tree, { ignoreAge: 0 }))
  const apiMs = await timed(() => datatypes.compare(a, b, null, { ignoreAge: 0 }))
  for (const f of fs.readdirSync(dir)) fs.rmSync(path.join(dir, f))
  return {
    files: a.fileCount.toLocaleString('en'),
    'fromListing x2 ms': fmt(readMs, 0),
    'native compare ms': fmt(nativeMs, 1),
    'datatypes.compare ms': fmt(apiMs, 1),
    'TypeScript overhead': `${fmt((100 * (apiMs - nativeMs)) / nativeMs, 1)}%`,
  }
}

/** 100 million files a side: ours against `sort -S 2G` and `comm -3`, if the disk has room. */
function huge(dir) {
  const n = 100_000_000
  const free = fs.statfsSync(dir).bavail * fs.statfsSync(dir).bsize
  const need = 25e9
  if (free < need) {
    return `--huge needs about ${fmt(need / 1e9, 0)} GB free in ${dir}; ${fmt(free / 1e9, 1)} GB are: not run`
  }
  const { inventory, remote, expected } = generate(dir, n, { shape: 'dirs', length: 'short' })
  const out = path.join(dir, 'ours')
  const ours = measure(`node ${q(CLI)} compare ${q(inventory)} ${q(remote)} --output ${q(out)} --json`)
  const summary = JSON.parse(ours.stdout)
  if (summary.missing.count !== expected.missing + expected.mismatch) {
    throw new Error(`compare found ${summary.missing.count} missing, planted ${expected.missing + expected.mismatch}`)
  }
  const sortComm = measureSteps([
    `LC_ALL=C sort -S 2G ${q(inventory)} > ${q(`${inventory}.sorted`)}`,
    `LC_ALL=C sort -S 2G ${q(remote)} > ${q(`${remote}.sorted`)}`,
    `LC_ALL=C comm -3 ${q(`${inventory}.sorted`)} ${q(`${remote}.sorted`)} > ${q(path.join(dir, 'comm.txt'))}`,
  ])
  const bytes = fs.statSync(inventory).size + fs.statSync(remote).size
  return table([
    {
      files: n.toLocaleString('en'),
      'input GB': fmt(bytes / 1e9, 1),
      'ours s': fmt(ours.seconds),
      'ours peak GB': fmt(ours.peakMB / 1024, 2),
      'sort -S 2G + comm s': fmt(sortComm.seconds),
      speed: ratio(sortComm, ours),
    },
  ])
}

export async function run({ big = false, huge: hugeRun = false, n: nGiven } = {}) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dc-bench-compare-'))
  try {
    if (hugeRun) return { name: 'compare', markdown: huge(dir) }
    const duck = duckdbPython()
    const sizes = nGiven ? [nGiven] : big ? [1_000_000, 10_000_000] : [1_000_000]
    const rows = []
    for (const n of sizes) {
      for (const shape of ['dirs', 'files']) {
        for (const length of ['short', 'long']) {
          // the median of three runs of each (one at 10M files)
          rows.push(row(dir, n, shape, length, duck, n > 2_000_000 ? 1 : 3))
        }
      }
    }
    const note = duck.python ? '' : `\n\nDuckDB not run: ${duck.why}`
    const overhead = await apiOverhead(dir)
    return { name: 'compare', markdown: `${table(rows)}${note}\n\n${table([overhead])}`, rows }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true })
  }
}
