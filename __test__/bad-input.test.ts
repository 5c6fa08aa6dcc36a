/**
 * Bad input and faults: whatever a user gives the tool, it answers with an
 * error (or the right result), never a Node process aborted by the native
 * layer. Calls that once aborted run in a process of their own, so that a
 * regression fails its test rather than the test runner.
 */
import { spawnSync } from 'node:child_process'
import * as fs from 'node:fs'
import * as path from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { cli, ROOT, tempDir, writeFile } from './helpers/cli'

const work = tempDir('bad-input')
afterAll(() => fs.rmSync(work, { recursive: true, force: true }))

const storage = path.join(work, 'storage')
writeFile(path.join(storage, 'store/mc/a/1.root'), 10)
writeFile(path.join(storage, 'store/mc/a/2.root'), 20)

/** Run `script` (JavaScript, with `b` the native module) in a new Node process. */
function node(script: string): { code: number | null; signal: string | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, ['-e', `const b = require('./index.js');\n${script}`], {
    cwd: ROOT,
    encoding: 'utf8',
  })
  return { code: r.status, signal: r.signal, stdout: r.stdout, stderr: r.stderr }
}

describe('numbers out of range', () => {
  it('are usage errors on the command line, not an abort', () => {
    for (const [option, value] of [
      ['--timeout', '1e20'],
      ['--timeout', 'Infinity'],
      ['--retries', '4294967296'],
      ['--threads', '4294967297'],
      ['--depth', '1e9'],
    ] as const) {
      const r = cli(['list', storage, option, value])
      expect(r.code, `${option} ${value}: ${r.stderr}`).toBe(2)
      expect(r.stderr).toContain(`${option} must be`)
    }
    const r = cli(['compare', storage, storage, '--ignore-age', '1e300'])
    expect(r.code).toBe(2)
    expect(r.stderr).toContain('--ignore-age must be a number from 0 to 36500')
  })

  it('are invalid arguments to the native listing, whatever the caller', () => {
    const dir = JSON.stringify(storage)
    const cases = [
      '{ timeout: 1e20 }',
      '{ timeout: Infinity }',
      '{ timeout: NaN }',
      '{ timeout: -1 }',
      '{ retries: 4294967296 }',
      '{ threads: 4294967297 }',
      '{ threads: 1.5 }',
      '{ depth: 2 ** 40 }',
      '{ checkpointInterval: NaN }',
      '{ progressIntervalMs: 1e300 }',
    ]
    for (const opts of cases) {
      const r = node(`b.listRemote(${dir}, ${opts}).then(() => console.log('listed'), (e) => console.log(e.message))`)
      expect(r.signal, `${opts}: ${r.stderr}`).toBeNull()
      expect(r.code, `${opts}: ${r.stderr}`).toBe(0)
      expect(r.stdout, opts).toMatch(/^E_INVALID_ARGUMENT: \w+ must be a (whole )?number from /)
    }
    const ok = node(`b.listRemote(${dir}, { timeout: 86400, retries: 100 }).then((t) => console.log(t.fileCount))`)
    expect(ok.stdout.trim()).toBe('2')
    const locate = node(`try { b.locate('root://127.0.0.1:1//store', 1e300) } catch (e) { console.log(e.message) }`)
    expect(locate.code).toBe(0)
    expect(locate.stdout).toMatch(/^E_INVALID_ARGUMENT: timeoutSeconds must be a number from/)
  })
})
