#!/usr/bin/env node
// Check that shared objects (the .node module, the XRootD shim) run on an
// old glibc: no symbol they import may need a newer version of glibc, of
// libstdc++ (GLIBCXX) or of the C++ ABI library (CXXABI) than the target's.
//
//   node scripts/check-glibc.mjs [--glibc 2.17] [--glibcxx 3.4.25] [--cxxabi 1.3.11] FILE...
//
// The defaults are what EL7 glibc and EL8's libstdc++ (GCC 8) provide: the
// oldest grid hosts the prebuilt binaries are for. Reads `objdump -T`
// ($OBJDUMP, for another architecture's binutils). Exit status 1 lists every
// symbol that is too new; 2 is bad usage.
import { spawnSync } from 'node:child_process'
import { parseArgs } from 'node:util'

let parsed
try {
  parsed = parseArgs({
    allowPositionals: true,
    options: {
      glibc: { type: 'string', default: '2.17' },
      glibcxx: { type: 'string', default: '3.4.25' },
      cxxabi: { type: 'string', default: '1.3.11' },
    },
  })
} catch (err) {
  console.error(`check-glibc: ${err.message}`)
  process.exit(2)
}
const { values, positionals: files } = parsed
if (files.length === 0) {
  console.error('check-glibc: no file given (usage: check-glibc.mjs [--glibc 2.17] FILE...)')
  process.exit(2)
}
const limits = { GLIBC: values.glibc, GLIBCXX: values.glibcxx, CXXABI: values.cxxabi }
for (const [lib, v] of Object.entries(limits)) {
  if (!/^\d+(\.\d+)*$/.test(v)) {
    console.error(`check-glibc: --${lib.toLowerCase()} must be a version such as 2.17, not ${v}`)
    process.exit(2)
  }
}

/** Compare dotted versions numerically: 2.9 < 2.17. */
function newer(a, b) {
  const x = a.split('.').map(Number)
  const y = b.split('.').map(Number)
  for (let i = 0; i < Math.max(x.length, y.length); i++) {
    if ((x[i] ?? 0) !== (y[i] ?? 0)) return (x[i] ?? 0) > (y[i] ?? 0)
  }
  return false
}

const objdump = process.env.OBJDUMP || 'objdump'
let failed = false
for (const file of files) {
  const r = spawnSync(objdump, ['-T', file], { encoding: 'utf8', maxBuffer: 64 << 20 })
  if (r.error || r.status !== 0) {
    console.error(`check-glibc: ${file}: ${objdump} -T failed: ${(r.error?.message ?? r.stderr).trim()}`)
    failed = true
    continue
  }
  const highest = {}
  const tooNew = []
  for (const line of r.stdout.split('\n')) {
    if (!line.includes('*UND*')) continue
    const m = /\b(GLIBC|GLIBCXX|CXXABI)_(\d+(?:\.\d+)*)\b/.exec(line)
    if (!m) continue
    const [, lib, version] = m
    const symbol = line.trim().split(/\s+/).pop()
    if (!highest[lib] || newer(version, highest[lib])) highest[lib] = version
    if (newer(version, limits[lib])) tooNew.push(`${symbol} (${lib}_${version})`)
  }
  const summary = Object.entries(highest)
    .map(([lib, v]) => `${lib}_${v}`)
    .join(', ')
  if (tooNew.length) {
    failed = true
    console.error(
      `check-glibc: ${file} needs more than GLIBC_${limits.GLIBC}/GLIBCXX_${limits.GLIBCXX}/CXXABI_${limits.CXXABI}: ${tooNew.join(', ')}`,
    )
  } else {
    console.log(`check-glibc: ${file}: ok (highest: ${summary || 'no versioned symbol'})`)
  }
}
process.exit(failed ? 1 : 0)
