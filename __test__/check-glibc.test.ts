// scripts/check-glibc.mjs, which the release build runs on the .node and the
// XRootD shim: every imported symbol newer than the target's glibc,
// libstdc++ or C++ ABI library fails the check, by name.
import { spawnSync } from 'node:child_process'
import * as path from 'node:path'
import { describe, expect, it } from 'vitest'
import { platformName } from '../src/native'
import { ROOT } from './helpers/cli'

const SCRIPT = path.join(ROOT, 'scripts', 'check-glibc.mjs')
const NODE = path.join(ROOT, `dynamo-consistency.${platformName()}.node`)
const SHIM = path.join(ROOT, `libdc_xrdcl.${platformName()}.so`)

function check(args: string[]) {
  const r = spawnSync(process.execPath, [SCRIPT, ...args], { encoding: 'utf8' })
  return { code: r.status, stdout: r.stdout, stderr: r.stderr }
}

describe('check-glibc', () => {
  it('passes what needs no newer versions than the limits, and says the highest it found', () => {
    const r = check(['--glibc', '99', '--glibcxx', '99', '--cxxabi', '99', NODE, SHIM])
    expect(r.stderr).toBe('')
    expect(r.code).toBe(0)
    expect(r.stdout).toContain(`${NODE}: ok (highest: `)
    expect(r.stdout).toMatch(new RegExp(`${SHIM.replace(/[.]/g, '\\.')}: ok \\(highest: .*GLIBCXX_3\\.4.*GLIBC_2\\.`))
  })

  it('fails on every symbol newer than the limits, naming it and its version', () => {
    const r = check(['--glibc', '2.0', '--glibcxx', '3.0', NODE, SHIM])
    expect(r.code).toBe(1)
    const lines = r.stderr.trim().split('\n')
    expect(lines).toHaveLength(2)
    expect(lines[0]).toMatch(
      /dynamo-consistency\..*\.node needs more than GLIBC_2\.0\/GLIBCXX_3\.0\/CXXABI_1\.3\.11: .*\w+ \(GLIBC_2\.\d+\)/,
    )
    expect(lines[1]).toMatch(/libdc_xrdcl\..*\.so needs more than .*\w+ \(GLIBCXX_3\.4[.\d]*\)/)
  })

  it('refuses bad usage and names an unreadable file', () => {
    expect(check([]).code).toBe(2)
    const bad = check(['--glibc', 'new', NODE])
    expect(bad.code).toBe(2)
    expect(bad.stderr).toMatch(/--glibc must be a version such as 2\.17, not new/)
    const missing = check([path.join(ROOT, 'nonexistent.node')])
    expect(missing.code).toBe(1)
    expect(missing.stderr).toMatch(/nonexistent\.node: objdump -T failed/)
  })
})
