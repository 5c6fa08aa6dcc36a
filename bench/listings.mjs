// Generated inventory and storage listing files of CMS-like LFNs, for the
// compare benchmarks: two directory shapes and two name lengths.
//
// - shape `dirs`: about 200 files a directory (50 to 350);
// - shape `files`: one file a directory (user and group areas, and parts of
//   real sites, look like that), below the same six levels of parents;
// - length `short`: LFNs of about 75 bytes
//   (`/store/mc/EraNN/PrimaryNNN/AODSIM/Proc-vN/NNNNN/<hex>-<hex>-<hex>.root`);
// - length `long`: about 175 bytes, as production MC datasets name them.
//
// Differences planted: 0.1% of the inventory missing from storage, 0.1% of
// orphans added, 0.05% of files with another size on storage. The files are
// written in the order listers and inventory dumps give them: a directory's
// files together, directories in creation order.
import * as fs from 'node:fs'
import * as path from 'node:path'

function rng(seed) {
  // sfc32 on 32-bit integers: fast, and the same files on every run
  let a = 0x9e3779b9
  let b = 0x243f6a88
  let c = 0xb7e15162
  let d = seed >>> 0
  const next = () => {
    const t = (((a + b) | 0) + d) | 0
    d = (d + 1) | 0
    a = b ^ (b >>> 9)
    b = (c + (c << 3)) | 0
    c = (c << 21) | (c >>> 11)
    c = (c + t) | 0
    return t >>> 0
  }
  for (let i = 0; i < 12; i++) next()
  const r = () => next() / 2 ** 32
  r.u32 = next
  return r
}

const HEX = '0123456789ABCDEF'
function hex(r, n) {
  let s = ''
  let v = 0
  for (let i = 0; i < n; i++) {
    if (i % 8 === 0) v = r.u32()
    s += HEX[v & 15]
    v >>>= 4
  }
  return s
}

const LONG_ERAS = ['RunIIFall17MiniAODv2', 'RunIISummer20UL18MiniAODv2', 'RunIIAutumn18DRPremix', 'Run3Summer22EE']
const LONG_TIERS = ['AODSIM', 'MINIAODSIM', 'NANOAODSIM', 'GEN-SIM']

/** The directory of file group `d` (the n-th directory of the listing). */
function directory(d, shape, long) {
  // `files`: each leaf directory holds one file, 1000 leaves a dataset
  const dataset = shape === 'files' ? Math.floor(d / 1000) : Math.floor(d / 20)
  const block = shape === 'files' ? String(d % 1000).padStart(6, '0') : String((d % 20) * 10000).padStart(5, '0')
  if (long) {
    return `/store/mc/${LONG_ERAS[dataset % 4]}/GluGluToHHTo2B2Tau_node_${dataset}_TuneCP5_PSWeights_13TeV-madgraph-pythia8/${LONG_TIERS[dataset % 4]}/106X_upgrade2018_realistic_v16_L1v1-v${1 + (dataset % 3)}/${block}`
  }
  return `/store/mc/Era${String(dataset % 23).padStart(2, '0')}/Primary${dataset}/AODSIM/Proc-v${1 + (dataset % 3)}/${block}`
}

function fileName(r, long) {
  return long
    ? `${hex(r, 8)}-${hex(r, 4)}-${hex(r, 4)}-${hex(r, 4)}-${hex(r, 12)}.root`
    : `${hex(r, 8)}-${hex(r, 4)}-${hex(r, 4)}.root`
}

/**
 * Write `inventory.txt` and `remote.txt` of `n` inventory files into `dir`.
 * Returns the file paths and the planted differences.
 */
export function generate(dir, n, { shape = 'dirs', length = 'short', seed = 42 } = {}) {
  const long = length === 'long'
  const r = rng(seed)
  const inventory = path.join(dir, 'inventory.txt')
  const remote = path.join(dir, 'remote.txt')
  const inv = fs.openSync(inventory, 'w')
  const rem = fs.openSync(remote, 'w')
  let invBuf = ''
  let remBuf = ''
  const expected = { missing: 0, orphan: 0, mismatch: 0 }
  let written = 0
  let d = 0
  while (written < n) {
    const dirName = directory(d, shape, long)
    const inDir = shape === 'files' ? 1 : 50 + Math.floor(r() * 300)
    for (let i = 0; i < inDir && written < n; i++, written++) {
      const lfn = `${dirName}/${fileName(r, long)}`
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
        remBuf += `${dirName}/${fileName(r, long)}|${size}|${mtime}\n`
      }
    }
    if (invBuf.length > 1 << 22) {
      fs.writeSync(inv, invBuf)
      invBuf = ''
    }
    if (remBuf.length > 1 << 22) {
      fs.writeSync(rem, remBuf)
      remBuf = ''
    }
    d++
  }
  fs.writeSync(inv, invBuf)
  fs.writeSync(rem, remBuf)
  fs.closeSync(inv)
  fs.closeSync(rem)
  return { inventory, remote, directories: d, expected }
}
