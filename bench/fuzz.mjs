// The property tests of the listing-file parser and the tree-file loader
// (`crates/core`, `proptest`), run with many more cases than `cargo test`
// gives them: `node bench/fuzz.mjs [--cases N]` (default 20,000).
import { spawnSync } from 'node:child_process'
import { ROOT } from './lib.mjs'

function casesArg() {
  const args = process.argv.slice(2)
  const i = args.indexOf('--cases')
  const n = i >= 0 ? Number(args[i + 1]) : 20_000
  if (!Number.isInteger(n) || n < 1 || n > 100_000_000)
    throw new Error(`--cases must be a whole number from 1, not ${args[i + 1]}`)
  return n
}

export async function run() {
  const cases = casesArg()
  const t0 = Date.now()
  const r = spawnSync('cargo', ['test', '--release', '-p', 'dc-core', '--', 'properties'], {
    cwd: ROOT,
    env: { ...process.env, PROPTEST_CASES: String(cases) },
    encoding: 'utf8',
    maxBuffer: 64 << 20,
  })
  const seconds = (Date.now() - t0) / 1000
  const passed = /test result: ok\. (\d+) passed/.exec(r.stdout)
  if (r.status !== 0 || !passed) {
    process.stderr.write(r.stdout + r.stderr)
    throw new Error(`the property tests failed (exit ${r.status})`)
  }
  return {
    markdown: [
      '| property tests | cases each | s |',
      '| --- | --- | --- |',
      `| ${passed[1]} | ${cases} | ${seconds.toFixed(0)} |`,
    ].join('\n'),
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const result = await run()
  console.log(result.markdown)
}
