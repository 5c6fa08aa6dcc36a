/**
 * The boundary with the native module: its errors arrive as error classes
 * with their code, file and line; bad options are refused before anything
 * is listed; its limits are the ones the command line and the
 * configuration enforce; its string enums round-trip.
 */
import * as fs from 'node:fs'
import * as path from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { LIMITS, SCHEMA } from '../src/config'
import { ConsistencyError, ListingFileError, TreeFileError } from '../src/errors'
import {
  compare,
  compareListingsAsync,
  DEFAULT_DEPTH,
  LIST_METHODS,
  LISTING_FORMATS,
  type ListingFormat,
  type ListKind,
  type ListRequest,
  listRemote,
  listWithJs,
  MAX_DEPTH,
  MAX_RETRIES,
  MAX_SECONDS,
  MAX_THREADS,
  type NodeState,
  openSqliteDatabase,
  readListingAsync,
  Tree,
  writeLfnList,
} from '../src/native'
import { cli, ROOT, tempDir, writeFile } from './helpers/cli'

const work = tempDir('native-boundary')
afterAll(() => fs.rmSync(work, { recursive: true, force: true }))

const OLD = 1_500_000_000
const storage = path.join(work, 'storage')
writeFile(path.join(storage, 'store/a/1.root'), 10)
writeFile(path.join(storage, 'store/b/2.root'), 20)

/** A listing file whose third line is bad (no leading `/`). */
const badListing = path.join(work, 'bad.txt')
fs.writeFileSync(badListing, '/store/a/1.root|10|1500000000\n# a comment\nstore/b/2.root|20|1500000000\n')

async function caught(p: Promise<unknown> | (() => unknown)): Promise<unknown> {
  try {
    await (typeof p === 'function' ? p() : p)
  } catch (err) {
    return err
  }
  throw new Error('expected an error')
}

describe('native errors', () => {
  it('arrive as the class of their code, with the file and line of a bad listing line', async () => {
    const errors = [
      await caught(() => Tree.readListing(badListing)),
      await caught(readListingAsync(badListing)),
      await caught(compareListingsAsync(badListing, badListing)),
    ]
    for (const err of errors) {
      expect(err).toBeInstanceOf(ListingFileError)
      const e = err as ListingFileError
      expect(e.code).toBe('E_BAD_LISTING')
      expect(e.file).toBe(badListing)
      expect(e.line).toBe(3)
      // the plain message: no code in front of it, one line
      expect(e.message).toMatch(new RegExp(`^${badListing.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:3: `))
      expect(e.message).not.toContain('\n')
    }
  })

  it('name the file of a bad tree file, without a line', async () => {
    const corrupt = path.join(work, 'corrupt.tree')
    const tree = new Tree(0)
    tree.addFiles(Buffer.from('/store/a/1.root\0'), Float64Array.of(10), Float64Array.of(0))
    tree.save(corrupt)
    const bytes = fs.readFileSync(corrupt)
    fs.writeFileSync(corrupt, bytes.subarray(0, bytes.length - 3))
    const err = await caught(() => Tree.load(corrupt))
    expect(err).toBeInstanceOf(TreeFileError)
    expect((err as TreeFileError).code).toBe('E_BAD_TREE_FILE')
    expect((err as TreeFileError).file).toBe(corrupt)
    expect((err as TreeFileError).line).toBeUndefined()
  })

  it('of the SQLite class and of plain functions carry their codes', async () => {
    const db = openSqliteDatabase(':memory:')
    const bad = await caught(() => db.query('SELECT * FROM no_such_table'))
    expect(bad).toBeInstanceOf(ConsistencyError)
    expect((bad as ConsistencyError).code).toBe('E_SQLITE')
    expect((bad as Error).message).toContain('no_such_table')
    db.close()
    const unopened = await caught(() => openSqliteDatabase(path.join(work, 'no', 'such', 'dir', 'x.sqlite')))
    expect((unopened as ConsistencyError).code).toBe('E_SQLITE')
    const unwritable = await caught(() => writeLfnList(path.join(work, 'no/such/dir/list.txt'), Buffer.from('/a\0')))
    expect(unwritable).toBeInstanceOf(ConsistencyError)
    expect((unwritable as ConsistencyError).code).toBe('E_IO')
    const mismatch = await caught(() => writeLfnList(path.join(work, 'list.txt'), Buffer.from('/a\0/b\0'), ['|1']))
    expect((mismatch as ConsistencyError).code).toBe('E_INVALID_ARGUMENT')
    expect((mismatch as Error).message).toBe('2 names and 1 suffixes: one of each per line')
  })

  it('of a wrong argument are invalid arguments too', async () => {
    const errors = [
      await caught(() => Tree.readListing(badListing, 'csv' as never)),
      await caught(() => new Tree('yesterday' as never)),
      await caught(listRemote(42 as never)),
      await caught(() => compare(new Tree(), {} as never)),
    ]
    for (const err of errors) {
      expect(err).toBeInstanceOf(ConsistencyError)
      expect((err as ConsistencyError).code).toBe('E_INVALID_ARGUMENT')
      expect((err as Error).message).not.toContain('\n')
    }
    expect((errors[0] as Error).message).toContain('csv')
    expect(new Tree(5)).toBeInstanceOf(Tree)
  })
})

describe('listing options', () => {
  const bad: Array<[Record<string, unknown>, RegExp]> = [
    [{ threads: 0 }, new RegExp(`^threads must be a whole number from 1 to ${MAX_THREADS}, not 0$`)],
    [{ threads: MAX_THREADS + 1 }, /^threads must be a whole number/],
    [{ depth: MAX_DEPTH + 1 }, new RegExp(`^depth must be a whole number from 0 to ${MAX_DEPTH}, not`)],
    [{ retries: MAX_RETRIES + 1 }, new RegExp(`^retries must be a whole number from 0 to ${MAX_RETRIES}, not`)],
    [{ timeout: MAX_SECONDS + 1 }, new RegExp(`^timeout must be a number from 0.001 to ${MAX_SECONDS}, not`)],
    [{ checkpointInterval: Number.NaN }, /^checkpointInterval must be a number/],
    [{ environment: { 'A=B': 'x' } }, /^environment: "A=B" is not a variable name/],
    [{ method: 'ftp' }, /ftp/],
  ]

  it('are refused before anything is listed, in one line', async () => {
    for (const [options, message] of bad) {
      const requests: ListRequest[] = []
      const progress: unknown[] = []
      const checkpoint = path.join(work, `never-${Object.keys(options)[0]}.checkpoint`)
      const err = await caught(
        listWithJs(
          (r) => requests.push(r),
          { ...options, checkpoint } as never,
          (p) => progress.push(p),
        ),
      )
      expect(err, JSON.stringify(options)).toBeInstanceOf(ConsistencyError)
      expect((err as ConsistencyError).code).toBe('E_INVALID_ARGUMENT')
      expect((err as Error).message).toMatch(message)
      expect((err as Error).message).not.toContain('\n')
      expect(requests).toEqual([])
      expect(progress).toEqual([])
      expect(fs.existsSync(checkpoint)).toBe(false)
      // a local directory the same way
      const local = await caught(listRemote(storage, options as never))
      expect((local as ConsistencyError).code).toBe('E_INVALID_ARGUMENT')
    }
  })

  it('at their limits are accepted', async () => {
    const tree = await listRemote(storage, { threads: 2, depth: MAX_DEPTH, retries: MAX_RETRIES, timeout: MAX_SECONDS })
    expect(tree.fileCount).toBe(2)
  })
})

describe('limits', () => {
  it('of the native module are those of the configuration', () => {
    expect([MAX_THREADS, MAX_DEPTH, MAX_RETRIES, MAX_SECONDS]).toEqual([
      LIMITS.threads,
      LIMITS.depth,
      LIMITS.retries,
      LIMITS.seconds,
    ])
    expect(SCHEMA.NumThreads?.max).toBe(MAX_THREADS)
    expect(SCHEMA.RequestsInFlight?.max).toBe(MAX_DEPTH)
    expect(SCHEMA.RequestsInFlight?.default).toBe(DEFAULT_DEPTH)
    expect(SCHEMA.Retries?.max).toBe(MAX_RETRIES)
    expect(SCHEMA.Timeout?.max).toBe(MAX_SECONDS)
  })

  it('of the native module are those the command line accepts', () => {
    const out = path.join(work, 'limits.tree')
    for (const [option, max] of [
      ['--threads', MAX_THREADS],
      ['--depth', MAX_DEPTH],
      ['--retries', MAX_RETRIES],
      ['--timeout', MAX_SECONDS],
    ] as const) {
      const over = cli(['list', storage, '-o', out, option, String(max + 1)])
      expect(over.code, over.stderr).toBe(2)
      expect(over.stderr).toContain(`${option} must be`)
      expect(over.stderr).toContain(` to ${max}, not ${max + 1}`)
      if (option === '--threads') continue // a thousand threads to list two files
      const at = cli(['list', storage, '-o', out, '--threads', '2', option, String(max)])
      expect(at.code, at.stderr).toBe(0)
    }
    const help = cli(['list', '--help'])
    expect(help.stdout).toContain(`1 to ${MAX_THREADS}`)
    expect(help.stdout).toContain(`0 to ${MAX_DEPTH} (default ${DEFAULT_DEPTH};`)
  })
})

describe('string enums', () => {
  it('are the values the command line offers', () => {
    expect([...LIST_METHODS].sort()).toEqual(['gfal', 'native', 'xrdfs'])
    expect([...LISTING_FORMATS].sort()).toEqual(['auto', 'ral'])
    const method = cli(['list', storage, '--method', 'ftp'])
    expect(method.code).toBe(2)
    expect(method.stderr).toContain('list: --method must be native, xrdfs or gfal, not ftp')
    const format = cli(['compare', storage, storage, '--format', 'csv'])
    expect(format.code).toBe(2)
    expect(format.stderr).toContain('compare: --format must be auto or ral, not csv')
  })

  it('round-trip: list kinds, listing formats and node states', async () => {
    // listed now, of files written long ago: every one compared
    const inventory = new Tree()
    inventory.addFiles(
      Buffer.from('/store/a/1.root\0/store/c/3.root\0'),
      Float64Array.of(10, 30),
      Float64Array.of(OLD, OLD),
    )
    const remote = await listRemote(storage)
    remote.addDirectory('/store/empty', 0)
    remote.setUnlisted('/store/locked', 'permission denied')
    const result = compare(inventory, remote)
    const names = (kind: ListKind) =>
      result
        .lfnBuffer(kind)
        .toString()
        .split('\0')
        .filter((n) => n !== '')
    expect(names('missing')).toEqual(['/store/c/3.root'])
    expect(names('orphan')).toEqual(['/store/b/2.root'])
    expect(names('empty')).toEqual(['/store/empty'])
    expect(names('unlisted')).toEqual(['/store/locked'])
    expect(result.files('orphan').map((f) => f.size)).toEqual([20])
    expect([...result.sizes('missing')]).toEqual([30])
    const unknown = await caught(() => result.files('empty' as never))
    expect((unknown as ConsistencyError).code).toBe('E_INVALID_ARGUMENT')
    const states: Array<[string, NodeState]> = [
      ['/store/a', 'listed'],
      ['/store/locked', 'unlisted'],
    ]
    for (const [dir, state] of states) expect(remote.getNode(dir)?.state).toBe(state)
    const lines: Record<ListingFormat, string> = { auto: '/store/a/1.root|10|1500000000', ral: '/store/a/1.root 10 1' }
    for (const format of LISTING_FORMATS) {
      const good = path.join(work, `good-${format}.txt`)
      fs.writeFileSync(good, `${lines[format]}\n`)
      expect(Tree.readListing(good, format).getFiles()).toEqual(['/store/a/1.root'])
    }
  })
})

describe('the generated binding', () => {
  it('is imported by src/native.ts alone', () => {
    const importers: string[] = []
    const walk = (dir: string): void => {
      for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
        const p = path.join(dir, e.name)
        if (e.isDirectory()) walk(p)
        else if (/\.m?ts$/.test(e.name) && /['"](\.\.\/)+index(\.js)?['"]/.test(fs.readFileSync(p, 'utf8')))
          importers.push(path.relative(ROOT, p))
      }
    }
    walk(path.join(ROOT, 'src'))
    expect(importers).toEqual([path.join('src', 'native.ts')])
  })
})
