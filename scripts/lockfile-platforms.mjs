// Some registries mirror only the platform packages of the platforms they
// serve, so `npm install` leaves the others (optional dependencies such as
// @biomejs/cli-darwin-arm64) out of package-lock.json, and `npm ci` then
// refuses the lock as out of sync. This adds each missing optional platform
// package to the lock with its os/cpu/libc, so that npm skips it on every
// other platform, exactly as with a complete lock. Idempotent.
import * as fs from 'node:fs'

const file = process.argv[2] ?? 'package-lock.json'
const lock = JSON.parse(fs.readFileSync(file, 'utf8'))
const OS = ['android', 'darwin', 'linux', 'win32', 'freebsd', 'openbsd', 'netbsd', 'sunos', 'aix', 'openharmony']
const CPU = {
  arm64: 'arm64',
  x64: 'x64',
  ia32: 'ia32',
  arm: 'arm',
  ppc64: 'ppc64',
  riscv64: 'riscv64',
  s390x: 's390x',
  wasm32: 'wasm32',
}

function platformOf(name) {
  const parts = name.split('/').pop().split('-')
  const os = parts.find((p) => OS.includes(p))
  const cpu = parts.map((p) => CPU[p]).find(Boolean)
  if (!os && !cpu) return null
  const entry = {}
  if (os) entry.os = [os]
  if (cpu) entry.cpu = [cpu]
  if (os === 'linux' && parts.includes('musl')) entry.libc = ['musl']
  if (os === 'linux' && parts.some((p) => p.startsWith('gnu'))) entry.libc = ['glibc']
  return entry
}

let added = 0
for (const [where, pkg] of Object.entries(lock.packages ?? {})) {
  for (const [name, spec] of Object.entries(pkg.optionalDependencies ?? {})) {
    const base = where === '' ? '' : `${where}/`
    if (lock.packages[`${base}node_modules/${name}`] || lock.packages[`node_modules/${name}`]) continue
    const platform = platformOf(name)
    const version = String(spec).replace(/^[\^~=]/, '')
    if (!platform || !/^\d+\.\d+\.\d+/.test(version)) continue
    lock.packages[`node_modules/${name}`] = { version, ...(pkg.dev ? { dev: true } : {}), optional: true, ...platform }
    added++
  }
}
if (added) {
  const sorted = Object.fromEntries(
    Object.entries(lock.packages).sort(([a], [b]) => (a === '' ? -1 : b === '' ? 1 : a < b ? -1 : 1)),
  )
  lock.packages = sorted
  fs.writeFileSync(file, `${JSON.stringify(lock, null, 2)}\n`)
}
console.log(`lockfile-platforms: ${added} platform packages added to ${file}`)
