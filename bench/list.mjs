// Local listing benchmark: a generated tree of 200k files in 2k directories;
// our `list` against `find DIR -printf '%s %T@ %p\n'` on the same warm tree.
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import { CLI, fmt, measure, q, table } from './lib.mjs'

export function generateTree(root, files, perDir) {
  let n = 0
  for (let d = 0; n < files; d++) {
    const dir = path.join(root, 'store', 'mc', `Era${d % 10}`, `Primary${Math.floor(d / 10) % 50}`, 'AODSIM', `d${d}`)
    fs.mkdirSync(dir, { recursive: true })
    for (let i = 0; i < perDir && n < files; i++, n++)
      fs.writeFileSync(path.join(dir, `${n.toString(36)}-file.root`), '')
  }
  return n
}

export async function run({ big = false } = {}) {
  const files = big ? 1_000_000 : 200_000
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'dc-bench-list-'))
  try {
    generateTree(root, files, 100)
    const rows = []
    // write the tree out, then warm the dentry and inode caches
    measure(`sync; find ${q(root)} > /dev/null`)
    const median = (list) => list.sort((a, b) => a.seconds - b.seconds)[1]
    const find = median([0, 1, 2].map(() => measure(`find ${q(root)} -printf '%s %T@ %p\\n' > /dev/null`)))
    const findOnce = measure(`find ${q(root)} -printf '%s %T@ %p\\n' | wc -l`)
    // the default (no --threads: twice the cores, at most 8) and fixed counts
    for (const threads of ['default', 1, 2, 4, 8]) {
      const option = threads === 'default' ? '' : ` --threads ${threads}`
      const ours = median([0, 1, 2].map(() => measure(`node ${q(CLI)} list ${q(root)}${option} > /dev/null`)))
      const count = measure(`node ${q(CLI)} list ${q(root)}${option} | wc -l`)
      if (Number(count.stdout.trim()) !== files) throw new Error(`list gave ${count.stdout.trim()} files, not ${files}`)
      rows.push({
        files: files.toLocaleString('en'),
        threads,
        'ours s': fmt(ours.seconds),
        'ours files/s': Math.round(files / ours.seconds).toLocaleString('en'),
        'find s': fmt(find.seconds),
        'find files/s': Math.round(files / find.seconds).toLocaleString('en'),
        'rate vs find': `${fmt(find.seconds / ours.seconds, 2)}x`,
        'ours peak MB': fmt(ours.peakMB, 0),
      })
    }
    if (Number(findOnce.stdout.trim()) < files) throw new Error('find listed fewer files than generated')
    return { name: 'list', markdown: table(rows), rows }
  } finally {
    fs.rmSync(root, { recursive: true, force: true })
  }
}
