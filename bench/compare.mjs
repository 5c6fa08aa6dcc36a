// Compare benchmark: CMS-like inventory and storage listings of N files
// (0.1% missing, 0.1% orphans, 0.05% size mismatches); our `compare`
// against `LC_ALL=C sort` of both files then `comm -3`, same machine, same run.
import * as fs from 'node:fs'
import { createRequire } from 'node:module'
import * as os from 'node:os'
import * as path from 'node:path'
import { CLI, fmt, measure, measureSteps, q, ROOT, table } from './lib.mjs'

const require = createRequire(import.meta.url)

function rng(seed) {
  let s = BigInt(seed)
  return () => {
    s = (s * 6364136223846793005n + 1442695040888963407n) & 0xffffffffffffffffn
    return Number(s >> 33n) / 2 ** 31
  }
}

const ERAS = ['RunIIFall17MiniAODv2', 'RunIISummer20UL18MiniAODv2', 'RunIIAutumn18DRPremix', 'Run3Summer22EE']
const TIERS = ['AODSIM', 'MINIAODSIM', 'NANOAODSIM', 'GEN-SIM']

function uuid(r) {
  const h = () =>
    Math.floor(r() * 0x10000)
      .toString(16)
      .toUpperCase()
      .padStart(4, '0')
  return `${h()}${h()}-${h()}-${h()}-${h()}-${h()}${h()}${h()}`
}

/** Write inventory and remote listing files; returns the expected counts. */
export function generate(dir, n, seed = 42) {
  const r = rng(seed)
  const inv = fs.openSync(path.join(dir, 'inventory.txt'), 'w')
  const rem = fs.openSync(path.join(dir, 'remote.txt'), 'w')
  let invBuf = ''
  let remBuf = ''
  const flush = (force) => {
    if (force || invBuf.length > 1 << 20) {
      fs.writeSync(inv, invBuf)
      invBuf = ''
    }
    if (force || remBuf.length > 1 << 20) {
      fs.writeSync(rem, remBuf)
      remBuf = ''
    }
  }
  const expected = { missing: 0, orphan: 0, mismatch: 0 }
  let written = 0
  let d = 0
  while (written < n) {
    const era = ERAS[d % ERAS.length]
    const dirName = `/store/mc/${era}/Primary${Math.floor(d / 40)}_TuneCP5_13TeV-pythia8/${TIERS[d % 4]}/106X_upgrade2018_realistic_v${d % 16}-v${1 + (d % 3)}/${String((d % 7) * 10000).padStart(5, '0')}`
    const inDir = 50 + Math.floor(r() * 400)
    for (let i = 0; i < inDir && written < n; i++, written++) {
      const lfn = `${dirName}/${uuid(r)}.root`
      const size = 100_000_000 + Math.floor(r() * 4_000_000_000)
      const mtime = 1_500_000_000 + Math.floor(r() * 100_000_000)
      const x = r()
      invBuf += `${lfn}|${size}|${mtime}\n`
      if (x < 0.001) {
        expected.missing++
      } else if (x < 0.0015) {
        expected.mismatch++
        remBuf += `${lfn}|${size + 1}|${mtime}\n`
      } else {
        remBuf += `${lfn}|${size}|${mtime}\n`
      }
      if (r() < 0.001) {
        expected.orphan++
        remBuf += `${dirName}/${uuid(r)}.root|${size}|${mtime}\n`
      }
      flush(false)
    }
    d++
  }
  flush(true)
  fs.closeSync(inv)
  fs.closeSync(rem)
  return expected
}

/** The TypeScript `datatypes.compare` against the bare native call, in-process, median of 7. */
async function apiOverhead(inv, rem) {
  const binding = require(path.join(ROOT, 'index.js'))
  const datatypes = require(path.join(ROOT, 'dist', 'datatypes.js'))
  const [a, b] = await Promise.all([datatypes.DirectoryInfo.fromListing(inv), datatypes.DirectoryInfo.fromListing(rem)])
  const median = async (fn) => {
    const times = []
    for (let i = 0; i < 7; i++) {
      const t0 = process.hrtime.bigint()
      await fn()
      times.push(Number(process.hrtime.bigint() - t0) / 1e6)
    }
    return times.sort((x, y) => x - y)[3]
  }
  const nativeMs = await median(() => binding.compareAsync(a.tree, b.tree, { ignoreAge: 0 }))
  const apiMs = await median(() => datatypes.compare(a, b, null, { ignoreAge: 0 }))
  return {
    files: a.fileCount.toLocaleString('en'),
    'native compare ms': fmt(nativeMs, 1),
    'datatypes.compare ms': fmt(apiMs, 1),
    'TypeScript overhead': `${fmt((100 * (apiMs - nativeMs)) / nativeMs, 1)}%`,
  }
}

export async function run({ big = false, n: nGiven } = {}) {
  const n = nGiven ?? (big ? 10_000_000 : 1_000_000)
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dc-bench-compare-'))
  try {
    const expected = generate(dir, n)
    const inv = path.join(dir, 'inventory.txt')
    const rem = path.join(dir, 'remote.txt')
    // write the generated files out, then warm the page cache for both contenders
    measure(`sync; cat ${q(inv)} ${q(rem)} > /dev/null`)
    // the median of three runs of each (one at 10M files)
    const runs = n > 2_000_000 ? 1 : 3
    const median = (list) => list.sort((a, b) => a.seconds - b.seconds)[Math.floor(list.length / 2)]
    const ours = median(
      Array.from({ length: runs }, () =>
        measure(`node ${q(CLI)} compare ${q(inv)} ${q(rem)} --output ${q(path.join(dir, 'out'))} --json`),
      ),
    )
    const summary = JSON.parse(ours.stdout)
    const wantMissing = expected.missing + expected.mismatch
    const wantOrphan = expected.orphan + expected.mismatch
    if (summary.missing.count !== wantMissing || summary.orphan.count !== wantOrphan) {
      throw new Error(
        `compare found ${summary.missing.count}/${summary.orphan.count}, expected ${wantMissing}/${wantOrphan}`,
      )
    }
    const reference = median(
      Array.from({ length: runs }, () =>
        measureSteps(
          [
            `LC_ALL=C sort ${q(inv)} > ${q(`${inv}.sorted`)}`,
            `LC_ALL=C sort ${q(rem)} > ${q(`${rem}.sorted`)}`,
            `LC_ALL=C comm -3 ${q(`${inv}.sorted`)} ${q(`${rem}.sorted`)} > ${q(path.join(dir, 'comm.txt'))}`,
          ],
          {},
        ),
      ),
    )
    const bytes = fs.statSync(inv).size + fs.statSync(rem).size
    const rows = [
      {
        files: n.toLocaleString('en'),
        'input MB': fmt(bytes / 1e6, 0),
        'ours s': fmt(ours.seconds),
        'ours peak MB': fmt(ours.peakMB, 0),
        'sort+comm s': fmt(reference.seconds),
        'sort+comm peak MB': fmt(reference.peakMB, 0),
        speed: `${fmt(reference.seconds / ours.seconds, 1)}x`,
      },
    ]
    const overhead = await apiOverhead(inv, rem)
    return { name: 'compare', markdown: `${table(rows)}\n\n${table([overhead])}`, rows }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true })
  }
}
