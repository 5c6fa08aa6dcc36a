#!/usr/bin/env node
// Copy the XRootD shim the build of crates/xrootd-sys made
// (libdc_xrdcl.<platform>.so) from cargo's profile directory to sit beside
// the .node file, where the native module looks for it.
//
//   node scripts/place-shim.mjs [--target TRIPLE] [--output-dir DIR] [--require]
//
// Without --require, a build that made no shim (no XRootD headers) is
// allowed: the module then says at run time that XRootD support is absent.
import { copyFileSync, existsSync, readdirSync } from 'node:fs'
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
const profileDir = values.target ? join(targetDir, values.target, values.profile) : join(targetDir, values.profile)
const shims = existsSync(profileDir)
  ? readdirSync(profileDir).filter((f) => /^libdc_xrdcl\..+\.(so|dylib)$/.test(f))
  : []
if (shims.length === 0) {
  const message = `place-shim: no XRootD shim in ${profileDir} (the XRootD client headers were missing at build time)`
  if (values.require) {
    console.error(`${message}: install libxrootd-client-dev and rebuild`)
    process.exit(1)
  }
  console.error(`${message}: the native XRootD lister will be unavailable`)
  process.exit(0)
}
for (const f of shims) {
  copyFileSync(join(profileDir, f), join(values['output-dir'], f))
  console.error(`place-shim: ${resolve(values['output-dir'], f)}`)
}
