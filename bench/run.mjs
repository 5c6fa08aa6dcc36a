// `npm run bench`: every benchmark, each against its reference in the same
// run. Flags: --big (10M files for compare, 1M for listing), --only a,b,
// --huge (compare of 100M files a side; about 25 GB of disk).
// The soak of the check under races and faults (`check-soak.mjs`) and the
// long run of the property tests (`fuzz.mjs`) run only when named: --only soak,fuzz.
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import { ROOT } from './lib.mjs'

const args = process.argv.slice(2)
const big = args.includes('--big')
const huge = args.includes('--huge')
const onlyArg = args.find((a) => a.startsWith('--only'))
const only = onlyArg
  ? (onlyArg.includes('=') ? onlyArg.split('=')[1] : args[args.indexOf(onlyArg) + 1]).split(',')
  : null
const optional = ['soak', 'fuzz']
const files = { soak: 'check-soak' }
const benches = ['compare', 'list', 'xrootd', 'xrootd-restart', 'check', 'web', ...optional].filter((b) =>
  only ? only.includes(b) : !optional.includes(b),
)

console.log(
  `# Benchmarks on ${os.hostname()}: ${os.cpus().length} cores, ${Math.round(os.totalmem() / 2 ** 30)} GiB, ${os.cpus()[0]?.model ?? ''}`,
)
console.log(`node ${process.version}, ${new Date().toISOString()}\n`)
for (const name of benches) {
  const file = path.join(ROOT, 'bench', `${files[name] ?? name}.mjs`)
  if (!fs.existsSync(file)) continue
  const mod = await import(file)
  if (typeof mod.run !== 'function') continue
  console.log(`## ${name}\n`)
  const t0 = Date.now()
  const result = await mod.run({ big, huge, quick: false })
  console.log(result.markdown)
  console.log(`\n(${((Date.now() - t0) / 1000).toFixed(0)} s)\n`)
}
