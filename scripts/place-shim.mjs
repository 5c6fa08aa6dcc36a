#!/usr/bin/env node
// Copy the XRootD shim the build of crates/xrootd-sys made
// (libdc_xrdcl.<platform>.so) from cargo's profile directory to sit beside
// the .node file, where the native module looks for it.
//
//   node scripts/place-shim.mjs [--target TRIPLE] [--output-dir DIR] [--require]
//
// Without --require, a build that made no shim (no XRootD headers) is
// allowed: the module then says at run time that XRootD support is absent.
import { copyFileSync, existsSync, readdirSync, statSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { parseArgs } from 'node:util'

const { values } = parseArgs({
  options: {
    target: { type: 'string' },
    'output-dir': { type: 'string', default: '.' },
    require: { type: 'boolean', default: false },
    profile: { type: 'string', default: 'release' },
  },
})
const targetDir = process.env.CARGO_TARGET_DIR ?? 'target'
// without --target, cargo's own profile directory or, where the build was
// given the host's triple (napi build may pass it), that triple's one
const candidates = values.target
  ? [join(targetDir, values.target, values.profile)]
  : [
      join(targetDir, values.profile),
      ...(existsSync(targetDir) ? readdirSync(targetDir) : [])
        .filter((d) => d.includes('-'))
        .map((d) => join(targetDir, d, values.profile)),
    ]
const found = candidates.flatMap((dir) =>
  existsSync(dir)
    ? readdirSync(dir)
        .filter((f) => /^libdc_xrdcl\..+\.(so|dylib)$/.test(f))
        .map((f) => ({ dir, f, mtime: statSync(join(dir, f)).mtimeMs }))
    : [],
)
// the newest build of each shim name
const newest = new Map()
for (const s of found) if (!newest.has(s.f) || newest.get(s.f).mtime < s.mtime) newest.set(s.f, s)
const shims = [...newest.values()]
const profileDir = candidates.join(' or ')
if (shims.length === 0) {
  const message = `place-shim: no XRootD shim in ${profileDir} (the XRootD client headers were missing at build time)`
  if (values.require) {
    console.error(`${message}: install libxrootd-client-dev and rebuild`)
    process.exit(1)
  }
  console.error(`${message}: the native XRootD lister will be unavailable`)
  process.exit(0)
}
for (const { dir, f } of shims) {
  copyFileSync(join(dir, f), join(values['output-dir'], f))
  console.error(`place-shim: ${resolve(values['output-dir'], f)}`)
}
