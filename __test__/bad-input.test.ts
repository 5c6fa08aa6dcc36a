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
import { DirectoryInfo } from '../src/datatypes'
import { CancelledError, TreeFileError } from '../src/errors'
import { Tree } from '../src/native'
import { Lister, type ListerEntry } from '../src/remotelister'
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
      const r = node(
        `try { b.listRemote(${dir}, ${opts}).then(() => console.log('listed')) } catch (e) { console.log(e.code + ': ' + e.message) }`,
      )
      expect(r.signal, `${opts}: ${r.stderr}`).toBeNull()
      expect(r.code, `${opts}: ${r.stderr}`).toBe(0)
      expect(r.stdout, opts).toMatch(/^E_INVALID_ARGUMENT: \w+ must be a (whole )?number from /)
    }
    const ok = node(`b.listRemote(${dir}, { timeout: 86400, retries: 100 }).then((t) => console.log(t.fileCount))`)
    expect(ok.stdout.trim()).toBe('2')
    const locate = node(
      `try { b.locate('root://127.0.0.1:1//store', 1e300) } catch (e) { console.log(e.code + ': ' + e.message) }`,
    )
    expect(locate.code).toBe(0)
    expect(locate.stdout).toMatch(/^E_INVALID_ARGUMENT: timeoutSeconds must be a number from/)
  })
})

/** A listing file of `rows` (LFN, size), all old. */
function listing(name: string, rows: Array<[string, number]>): string {
  const file = path.join(work, name)
  fs.writeFileSync(file, rows.map(([lfn, size]) => `${lfn}|${size}|1500000000\n`).join(''))
  return file
}

const SITE: Array<[string, number]> = [
  ['/store/mc/a/1.root', 10],
  ['/store/mc/a/2.root', 20],
  ['/store/mc/b/3.root', 30],
]

/** Compare through the CLI in a shell (for pipes); the summary as JSON. */
function shell(command: string): {
  code: number | null
  summary: Record<string, { count: number; files: number }> | null
  stderr: string
} {
  const r = spawnSync('bash', ['-c', command.replaceAll('$CLI', '"$NODE" "$CLI_JS"')], {
    cwd: work,
    encoding: 'utf8',
    timeout: 60_000,
    env: { ...process.env, NODE: process.execPath, CLI_JS: path.join(ROOT, 'bin/dynamo-consistency.js') },
  })
  let summary = null
  try {
    summary = JSON.parse(r.stdout)
  } catch {
    // no summary: the command failed
  }
  return { code: r.status, summary, stderr: r.stderr }
}

describe('inputs that once aborted or hung', () => {
  it('refuses a tree file whose counts its length cannot hold, before allocating for them', () => {
    const inv = listing('inv.txt', SITE)
    const good = path.join(work, 'good.tree')
    expect(cli(['list', storage, '--output', good]).code).toBe(0)
    const bytes = fs.readFileSync(good)
    // the file count is the u64 at byte 28: its fourth byte makes it billions
    bytes[31] = 0x7f
    const bad = path.join(work, 'count.tree')
    fs.writeFileSync(bad, bytes)
    const r = cli(['compare', inv, bad, '--output', path.join(work, 'count')])
    expect(r.code, r.stderr).toBe(1)
    expect(r.stderr).toMatch(/count\.tree: the tree file is corrupt \(.*cannot fit in \d+ bytes\)/)
  })

  it('refuses a sparse terabyte read as a listing, without reserving for it', () => {
    const inv = listing('inv.txt', SITE)
    const huge = path.join(work, 'x.txt')
    fs.writeFileSync(huge, '')
    fs.truncateSync(huge, 2 ** 40)
    try {
      const r = cli(['compare', inv, huge, '--output', path.join(work, 'huge')])
      expect(r.code, r.stderr).toBe(1)
      expect(r.stderr).toContain('x.txt:1: a line longer than 16 MiB')
    } finally {
      fs.rmSync(huge)
    }
  })

  it('reads a listing from a pipe, process substitution or FIFO whole, first bytes included', () => {
    listing('inv.txt', SITE)
    listing('rem.txt', SITE)
    for (const command of [
      '$CLI compare /dev/stdin rem.txt --json --output piped < inv.txt',
      'cat inv.txt | $CLI compare /dev/stdin rem.txt --json --output piped',
      '$CLI compare <(cat inv.txt) <(cat rem.txt) --json --output piped',
      'rm -f fifo && mkfifo fifo && (cat inv.txt > fifo &) && $CLI compare fifo rem.txt --json --output piped',
    ]) {
      const r = shell(command)
      expect(r.code, `${command}: ${r.stderr}`).toBe(0)
      expect(r.summary?.missing?.count, command).toBe(0)
      expect(r.summary?.orphan?.count, command).toBe(0)
      expect(r.summary?.inventory?.files, command).toBe(3)
    }
    // a tree file through a pipe too
    const tree = path.join(work, 'piped.tree')
    expect(cli(['list', storage, '--output', tree]).code).toBe(0)
    const r = shell(
      `cat ${JSON.stringify(tree)} | $CLI compare /dev/stdin ${JSON.stringify(tree)} --json --output piped`,
    )
    expect(r.code, r.stderr).toBe(0)
    expect(r.summary?.missing?.count).toBe(0)
  })

  it('refuses an empty file named *.tree rather than reading it as an empty listing', async () => {
    const inv = listing('inv.txt', SITE)
    const empty = path.join(work, 'empty.tree')
    fs.writeFileSync(empty, '')
    for (const args of [
      [inv, empty],
      [empty, inv],
    ]) {
      const r = cli(['compare', ...args, '--output', path.join(work, 'empty')])
      expect(r.code, r.stderr).toBe(1)
      expect(r.stderr).toContain('empty.tree: the tree file is empty')
    }
    // wherever a listing is expected: an inventory listing file, a listing read into a tree
    const asListing = await DirectoryInfo.fromListing(empty).catch((e: unknown) => e)
    expect(asListing).toBeInstanceOf(TreeFileError)
    expect((asListing as TreeFileError).code).toBe('E_BAD_TREE_FILE')
    expect(() => Tree.readListing(empty)).toThrow(TreeFileError)
    // an empty listing by any other name is an empty listing
    const none = path.join(work, 'none.txt')
    fs.writeFileSync(none, '')
    const r = cli(['compare', none, inv, '--json', '--output', path.join(work, 'none')])
    expect(r.code).toBe(0)
    expect(JSON.parse(r.stdout).orphan.count).toBe(3)
  })
})

/** `/store/a/f.root` and `/store/b/g.root`; with `hang`, `/store/b` is never answered. */
class TwoDirs extends Lister {
  constructor(private readonly hang: boolean) {
    super()
  }

  lsDirectory(lfn: string): Promise<ListerEntry[]> | ListerEntry[] {
    if (lfn === '/store')
      return [
        { name: 'a', isDir: true },
        { name: 'b', isDir: true },
      ]
    if (lfn === '/store/a') return [{ name: 'f.root', isDir: false, size: 1, mtime: 2 }]
    if (this.hang) return new Promise(() => {})
    return [{ name: 'g.root', isDir: false, size: 3, mtime: 4 }]
  }
}

describe('checkpoints', () => {
  it('resume only the listing they are of', async () => {
    const out = path.join(work, 'resumed.tree')
    const checkpoint = `${out}.checkpoint`
    // a listing cancelled while /store/b hangs leaves a checkpoint with /store/b pending
    const controller = new AbortController()
    setTimeout(() => controller.abort(), 300)
    const options = { roots: ['/store'], checkpoint, checkpointInterval: 0.01, timeout: 1, retries: 0 }
    const cancelled = await new TwoDirs(true).list(options, { signal: controller.signal }).catch((e: unknown) => e)
    expect(cancelled).toBeInstanceOf(CancelledError)
    expect(fs.existsSync(checkpoint)).toBe(true)

    // another target refuses it, and leaves it in place
    const r = cli(['list', storage, '--output', out, '--resume'])
    expect(r.code, r.stderr).toBe(1)
    expect(r.stderr).toContain(`${checkpoint} is the checkpoint of another listing`)
    expect(r.stderr).toContain('target (a lister written in JavaScript), root /store')
    expect(r.stderr).toContain(`target ${storage}, method local, root /`)
    expect(fs.existsSync(checkpoint)).toBe(true)
    expect(fs.existsSync(out)).toBe(false)

    // the same listing goes on from it
    const resumed = await new TwoDirs(false).list({ ...options, resume: true })
    expect(resumed.getFiles()).toEqual(['/store/a/f.root', '/store/b/g.root'])
    expect(fs.existsSync(checkpoint)).toBe(false)

    // a checkpoint with no record of its target is refused too
    resumed.save(checkpoint)
    const old = cli(['list', storage, '--output', out, '--resume'])
    expect(old.code).toBe(1)
    expect(old.stderr).toContain('no record of its target')
  })
})

describe('round trips', () => {
  it('reads back whatever list --format text writes: mtimes before 1970, names ending in a space', () => {
    const site = path.join(work, 'old-site')
    writeFile(path.join(site, 'store/old/1960.root'), 5)
    // Node's utimes cannot go before 1970
    expect(spawnSync('touch', ['-m', '-d', '@-315619200', path.join(site, 'store/old/1960.root')]).status).toBe(0)
    writeFile(path.join(site, 'store/old/epoch.root'), 6, 0)
    writeFile(path.join(site, 'store/odd/ends in a space '), 7)
    writeFile(path.join(site, 'store/odd/\tstarts with a tab'), 8)
    writeFile(path.join(site, 'store/odd/last word 12'), 9)
    const text = path.join(work, 'old-site.txt')
    const r = cli(['list', site, '--output', text, '--format', 'text'])
    expect(r.code, r.stderr).toBe(0)
    const written = fs.readFileSync(text, 'utf8')
    expect(written).toContain('/store/old/1960.root|5|-315619200\n')
    expect(written).toContain('/store/odd/ends in a space\\x20|7|')
    const tree = path.join(work, 'old-site.tree')
    expect(cli(['list', site, '--output', tree]).code).toBe(0)
    // the text listing against the tree of the same storage, and against itself
    for (const other of [tree, text]) {
      const c = cli(['compare', text, other, '--json', '--output', path.join(work, 'old')])
      expect(c.code, c.stderr).toBe(0)
      const summary = JSON.parse(c.stdout)
      expect([summary.inventory.files, summary.missing.count, summary.orphan.count]).toEqual([5, 0, 0])
    }
  })

  it('writes an unknown size so that it reads back unknown, with its mtime', async () => {
    const t = DirectoryInfo.empty(1_000)
    t.addFiles(['/store/u/name ending 12', '/store/u/b.root'], [-1, 2 ** 53 - 1], [-5, 7])
    const file = path.join(work, 'unknown.txt')
    t.tree.writeListing(file)
    expect(fs.readFileSync(file, 'utf8')).toBe('/store/u/b.root|9007199254740991|7\n/store/u/name ending 12||-5\n')
    const back = await DirectoryInfo.fromListing(file)
    expect(back.tree.fileColumns()).toEqual(t.tree.fileColumns())
  })
})
