import * as fs from 'node:fs'
import * as path from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { applyVeto, compare, DirectoryInfo, listed } from '../src/datatypes'
import { ListingFileError } from '../src/errors'
import { Tree } from '../src/native'
import { byteSort, cli, lines, tempDir, writeFile } from './helpers/cli'

const work = tempDir('compare')
afterAll(() => fs.rmSync(work, { recursive: true, force: true }))

const DAY = 86_400
const OLD = 1_500_000_000

function listing(name: string, rows: Array<[string, number, number?]>): string {
  const file = path.join(work, name)
  fs.writeFileSync(file, `${rows.map(([lfn, size, mtime]) => `${lfn}|${size}|${mtime ?? OLD}`).join('\n')}\n`)
  return file
}

function run(inv: string, rem: string, base: string, extra: string[] = []) {
  const r = cli(['compare', inv, rem, '--output', path.join(work, base), '--json', ...extra])
  expect(r.stderr).not.toContain('dynamo-consistency:')
  expect(r.code).toBe(0)
  const read = (kind: string) => lines(path.join(work, `${base}_${kind}.txt`))
  return {
    summary: JSON.parse(r.stdout),
    missing: read('missing'),
    orphan: read('orphan'),
    empty: read('empty'),
    unlisted: read('unlisted'),
  }
}

describe('compare command', () => {
  it('finds missing and orphan files, a size mismatch counting as both', () => {
    const inv = listing('inv1.txt', [
      ['/store/mc/a/kept.root', 10],
      ['/store/mc/a/lost.root', 20],
      ['/store/mc/b/resized.root', 30],
      ['/store/data/gone/whole.root', 40],
    ])
    const rem = listing('rem1.txt', [
      ['/store/mc/a/kept.root', 10],
      ['/store/mc/b/resized.root', 31],
      ['/store/mc/b/dark.root', 50],
    ])
    const r = run(inv, rem, 'one')
    expect(r.missing).toEqual(['/store/data/gone/whole.root', '/store/mc/a/lost.root', '/store/mc/b/resized.root'])
    expect(r.orphan).toEqual(['/store/mc/b/dark.root', '/store/mc/b/resized.root'])
    expect(r.summary.missing).toMatchObject({ count: 3, size: 40 + 20 + 30 })
    expect(r.summary.orphan).toMatchObject({ count: 2, size: 50 + 31 })
  })

  it('does not compare files younger than --ignore-age', () => {
    const now = Math.floor(Date.now() / 1000)
    const inv = listing('inv2.txt', [
      ['/s/young-inv.root', 1, now - DAY],
      ['/s/old-inv.root', 1, now - 5 * DAY],
    ])
    const rem = listing('rem2.txt', [
      ['/s/young-rem.root', 1, now - DAY],
      ['/s/old-rem.root', 1, now - 5 * DAY],
    ])
    const r = run(inv, rem, 'age', ['--ignore-age', '2'])
    expect(r.missing).toEqual(['/s/old-inv.root'])
    expect(r.orphan).toEqual(['/s/old-rem.root'])
    const all = run(inv, rem, 'age0')
    expect(all.missing).toHaveLength(2)
    expect(all.orphan).toHaveLength(2)
  })

  it('lets an inventory file that is not comparable shield its remote copy', () => {
    const now = Math.floor(Date.now() / 1000)
    // an incomplete replica: the inventory gives it the current time
    const inv = listing('inv3.txt', [['/s/in-transfer.root', 5, now + 60]])
    const rem = listing('rem3.txt', [['/s/in-transfer.root', 5, OLD]])
    const r = run(inv, rem, 'shield')
    expect(r.missing).toEqual([])
    expect(r.orphan).toEqual([])
  })

  it('reports nothing missing under an unlisted directory', () => {
    const inv = listing('inv4.txt', [
      ['/store/mc/broken/deep/a.root', 1],
      ['/store/mc/broken/b.root', 1],
      ['/store/mc/fine/c.root', 1],
    ])
    const tree = new Tree(OLD + DAY)
    tree.addFiles(Buffer.from('/store/mc/fine/d.root\0'), Float64Array.of(1), Float64Array.of(OLD))
    tree.setUnlisted('/store/mc/broken', 'Operation expired')
    const rem = path.join(work, 'rem4.tree')
    tree.save(rem)
    const r = run(inv, rem, 'unlisted')
    expect(r.missing).toEqual(['/store/mc/fine/c.root'])
    expect(r.orphan).toEqual(['/store/mc/fine/d.root'])
    expect(r.unlisted).toEqual(['/store/mc/broken'])
  })

  it('compares directories, keeps odd names and sorts by bytes', () => {
    const storage = path.join(work, 'odd-storage')
    const names = [
      '/store/sp ace/f 1.root',
      '/store/ünï/çødé.root',
      '/store/nl/new\nline.root',
      '/store/Z/upper.root',
      '/store/a/lower.root',
    ]
    for (const n of names) writeFile(path.join(storage, n), 3)
    fs.mkdirSync(path.join(storage, 'store/empty/deeper'), { recursive: true })
    for (const d of ['store/empty/deeper', 'store/empty']) fs.utimesSync(path.join(storage, d), OLD, OLD)
    const inv = listing('inv5.txt', [
      ['/store/a/lower.root', 3],
      ['/store/sp ace/gone here.root', 3],
    ])
    const r = run(inv, storage, 'odd')
    expect(r.missing).toEqual(['/store/sp ace/gone here.root'])
    const expected = byteSort(names.filter((n) => n !== '/store/a/lower.root')).map((n) => n.replace('\n', '\\n'))
    expect(r.orphan).toEqual(expected)
    expect(r.empty).toEqual(['/store/empty/deeper', '/store/empty'])
    // the orphan list is itself a listing file that reads back to the same names
    const back = cli([
      'compare',
      path.join(work, 'odd_orphan.txt'),
      storage,
      '--output',
      path.join(work, 'odd2'),
      '--json',
    ])
    expect(back.code).toBe(0)
    expect(JSON.parse(back.stdout).missing.count).toBe(0)
  })

  it('names the file and line of a bad listing line, and exits 1', () => {
    const bad = path.join(work, 'bad.txt')
    fs.writeFileSync(bad, '/store/ok.root|1\n# fine\n\n/store/bad.root|12kB\n')
    const r = cli(['compare', bad, bad, '--output', path.join(work, 'bad')])
    expect(r.code).toBe(1)
    expect(r.stderr).toContain(`${bad}:4: bad size`)
    expect(fs.existsSync(path.join(work, 'bad_missing.txt'))).toBe(false)
  })

  it('reads the RAL dump format when told', () => {
    const ral = path.join(work, 'ral.txt')
    fs.writeFileSync(ral, '/store/x.root 100 17000\n/store/y.root 200 17001\n')
    const inv = listing('inv6.txt', [
      ['/store/x.root', 100],
      ['/store/y.root', 200],
    ])
    const r = run(inv, ral, 'ral', ['--format', 'ral'])
    expect(r.missing).toEqual([])
    expect(r.orphan).toEqual([])
  })

  it('gives the same lists and summary from two listing files as from their trees', async () => {
    // both shapes (crowded directories and one file a directory), odd names,
    // size mismatches, duplicates, and files on either side of --ignore-age
    const now = Math.floor(Date.now() / 1000)
    const inv: string[] = []
    const rem: string[] = []
    let seed = 7
    const rand = (n: number) => {
      seed ^= seed << 13
      seed ^= seed >>> 17
      seed ^= seed << 5
      return (seed >>> 0) % n
    }
    for (let i = 0; i < 3000; i++) {
      const dir = i % 3 === 0 ? `/store/user/u${i}` : `/store/mc/Era${i % 4}/P${i % 40}/AODSIM/v1/${i % 7}`
      const name = [`f${i}.root`, `caf\xe9 ${i}.root`, `end ${i}.root\x20`][i % 3]
      const line = `${dir}/${name}|${1000 + (i % 50)}|${now - rand(4) * DAY}`
      const roll = rand(100)
      if (roll >= 3) inv.push(line)
      if (roll < 5 || roll >= 10) rem.push(roll === 99 ? line.replace(/\|(\d+)\|/, '|7|') : line)
      if (roll === 50) inv.push(line)
    }
    const invFile = path.join(work, 'same-inv.txt')
    const remFile = path.join(work, 'same-rem.txt')
    fs.writeFileSync(invFile, `${inv.join('\n')}\n`)
    fs.writeFileSync(remFile, `${rem.reverse().join('\n')}\n`)
    const remTree = path.join(work, 'same-rem.tree')
    ;(await DirectoryInfo.fromListing(remFile)).save(remTree)
    const fast = run(invFile, remFile, 'same-fast', ['--ignore-age', '2'])
    const trees = run(invFile, remTree, 'same-trees', ['--ignore-age', '2'])
    expect(fast.missing.length).toBeGreaterThan(20)
    expect(fast.orphan.length).toBeGreaterThan(20)
    for (const kind of ['missing', 'orphan', 'empty', 'unlisted'] as const) {
      const file = (base: string) => fs.readFileSync(path.join(work, `${base}_${kind}.txt`))
      expect(file('same-fast').equals(file('same-trees')), kind).toBe(true)
    }
    const { seconds: _a, ...a } = fast.summary
    const { seconds: _b, ...b } = trees.summary
    expect(a).toEqual({
      ...b,
      missing: { ...b.missing, file: a.missing.file },
      orphan: { ...b.orphan, file: a.orphan.file },
      empty: { ...b.empty, file: a.empty.file },
      unlisted: { ...b.unlisted, file: a.unlisted.file },
    })
  })

  it('answers bad usage with exit code 2 and help with 0', () => {
    expect(cli(['compare', 'only-one']).code).toBe(2)
    expect(cli(['compare', 'a', 'b', '--ignore-age', 'soon']).code).toBe(2)
    expect(cli(['compare', 'a', 'b', '--bogus']).code).toBe(2)
    expect(cli(['nonsense']).code).toBe(2)
    const help = cli(['compare', '--help'])
    expect(help.code).toBe(0)
    expect(help.stdout).toContain('BASE_missing.txt')
    const missingFile = cli(['compare', path.join(work, 'nope.txt'), path.join(work, 'nope2.txt')])
    expect(missingFile.code).toBe(1)
    expect(missingFile.stderr).toContain('no such file')
  })
})

describe('datatypes.compare', () => {
  it('applies the vetoes and writes BASE_missing.txt and BASE_orphan.txt', async () => {
    const inv = DirectoryInfo.empty(OLD + DAY)
    inv.addFiles(['/store/mc/keep/a.root', '/store/mc/deleting/b.root'], [1, 2], [OLD, OLD])
    const rem = DirectoryInfo.empty(OLD + DAY)
    rem.addFiles(['/store/mc/protected/c.root', '/store/mc/dark/d.root'], [3, 4], [OLD, OLD])
    const base = path.join(work, 'api')
    const r = await compare(inv, rem, base, {
      ignoreAge: 0,
      missingCheck: (lfn) => lfn.includes('/deleting/'),
      orphanCheck: (lfn) => lfn.includes('/protected/'),
    })
    expect(r.missing).toEqual(['/store/mc/keep/a.root'])
    expect(r.orphan).toEqual(['/store/mc/dark/d.root'])
    expect(r.missingSize).toBe(1)
    expect(r.orphanSize).toBe(4)
    expect(lines(`${base}_missing.txt`)).toEqual(r.missing)
    expect(lines(`${base}_orphan.txt`)).toEqual(r.orphan)
  })

  it('reads a list with its sizes at once, and a veto keeps the result and the entries in step', async () => {
    const inv = DirectoryInfo.empty(OLD + DAY)
    inv.addFiles(['/store/mc/x/held.root'], [1], [OLD])
    const rem = DirectoryInfo.empty(OLD + DAY)
    const names = ['/store/mc/x/a.root', '/store/mc/x/b.root', '/store/mc/x/c.root']
    rem.addFiles([...names, '/store/mc/x/held.root'], [5, -1, 7, 1], [OLD, OLD, OLD, OLD])
    const { result } = await compare(inv, rem, null, { ignoreAge: 0 })
    const all = listed(result, 'orphan')
    expect(all).toEqual({ lfns: names, sizes: [5, -1, 7] })
    const kept = applyVeto(result, 'orphan', all, (lfn) => lfn.endsWith('/b.root'))
    expect(kept).toEqual({ lfns: [names[0], names[2]], sizes: [5, 7] })
    expect(listed(result, 'orphan')).toEqual(kept)
    expect(result.orphanSize).toBe(12)
    const base = path.join(work, 'vetoed')
    result.write('orphan', `${base}_orphan.txt`)
    expect(lines(`${base}_orphan.txt`)).toEqual(kept.lfns)
  })

  it('turns a bad listing into a ListingFileError with file and line', async () => {
    const bad = path.join(work, 'bad-api.txt')
    fs.writeFileSync(bad, 'relative/lfn|1\n')
    const err = await DirectoryInfo.fromListing(bad).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(ListingFileError)
    expect(err).toMatchObject({ code: 'E_BAD_LISTING', file: bad, line: 1 })
  })
})
