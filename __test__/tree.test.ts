import * as fs from 'node:fs'
import * as path from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { DirectoryInfo, getInfo } from '../src/datatypes'
import { TreeFileError } from '../src/errors'
import { cli, tempDir } from './helpers/cli'

const work = tempDir('tree')
afterAll(() => fs.rmSync(work, { recursive: true, force: true }))

const FILES: Array<[string, number, number]> = [
  ['/store/mc/Era/Prim/AODSIM/Proc-v1/00000/A1.root', 1000, 1_500_000_000],
  ['/store/mc/Era/Prim/AODSIM/Proc-v1/00000/A2.root', 2000, 1_500_000_100],
  ['/store/mc/Era/Prim/AODSIM/Proc-v1/10000/B1.root', 3000, 1_500_000_200],
  ['/store/data/Run/Prim/AOD/Reco-v1/000/nämé with space.root', 4000, 1_500_000_300],
  ['/store/data/Run/Prim/AOD/Reco-v1/000/new\nline.root', 5000, 1_500_000_400],
]

function build(order: number[]): DirectoryInfo {
  const t = DirectoryInfo.empty(1_600_000_000)
  const rows = order.map((i) => FILES[i] as [string, number, number])
  t.addFiles(
    rows.map((r) => r[0]),
    rows.map((r) => r[1]),
    rows.map((r) => r[2]),
  )
  return t
}

describe('the tree', () => {
  it('hashes the same content the same way in any order', () => {
    const a = build([0, 1, 2, 3, 4])
    const b = build([4, 3, 2, 1, 0])
    const c = build([2, 0, 4, 1, 3])
    expect(b.hash).toBe(a.hash)
    expect(c.hash).toBe(a.hash)
    expect(build([0, 1, 2, 3]).hash).not.toBe(a.hash)
  })

  it('counts, looks up and lists', () => {
    const t = build([0, 1, 2, 3, 4])
    expect(t.fileCount).toBe(5)
    expect(t.totalSize).toBe(FILES.reduce((s, f) => s + f[1], 0))
    const node = t.getNode('/store/mc/Era/Prim/AODSIM/Proc-v1/00000')
    expect(node?.files.map((f) => f.name)).toEqual(['A1.root', 'A2.root'])
    expect(node?.totalSize).toBe(3000)
    expect(t.getNode('/store/mc/Era/Prim/AODSIM/Proc-v1')?.subdirs).toEqual(['00000', '10000'])
    expect(t.getNode('/store/nowhere')).toBeNull()
    expect(t.hasDirectory('/store/mc/Era/Prim/AODSIM/Proc-v1')).toBe(true)
    expect(t.hasDirectory('/store/nowhere')).toBe(false)
    expect(t.getNode('/store/mc/Era')?.totalFiles).toBe(3)
    expect(t.getNode('/store')?.totalFiles).toBe(5)
    const sorted = [...FILES.map((f) => f[0])].sort((x, y) => Buffer.compare(Buffer.from(x), Buffer.from(y)))
    expect(t.getFiles()).toEqual(sorted)
    expect(t.displays(2)).toContain('store (5 files')
  })

  it('lists empty directories deepest first, never unlisted ones', () => {
    const t = DirectoryInfo.empty(1_600_000_000)
    t.tree.addDirectory('/store/e/f/g', 1_000)
    t.tree.addDirectory('/store/e/f', 1_000)
    t.tree.addDirectory('/store/e', 1_000)
    t.tree.addDirectory('/store/bad/x', 1_000)
    t.tree.setUnlisted('/store/bad/x', 'Permission denied')
    t.addFiles(['/store/full/f.root'], [1], [1_000])
    expect(t.emptyNodesList()).toEqual(['/store/e/f/g', '/store/e/f', '/store/e'])
    expect(t.getUnlisted()).toEqual([{ path: '/store/bad/x', reason: 'Permission denied', timedOut: false }])
  })

  it('saves and loads back the same tree', async () => {
    const t = build([0, 1, 2, 3, 4])
    t.tree.setUnlisted('/store/unlisted', 'Operation expired', true)
    t.tree.setUnlisted('/store/refused', 'Permission denied')
    const file = path.join(work, 'round.tree')
    t.save(file)
    const back = await DirectoryInfo.load(file)
    expect(back.hash).toBe(t.hash)
    expect(back.getFiles()).toEqual(t.getFiles())
    expect(back.getUnlisted()).toEqual([
      { path: '/store/refused', reason: 'Permission denied', timedOut: false },
      { path: '/store/unlisted', reason: 'Operation expired', timedOut: true },
    ])
    const info = await getInfo(file)
    expect(info).toMatchObject({ files: 5, totalSize: t.totalSize, unlisted: 2, hash: t.hash })
  })

  it('refuses a truncated or corrupted tree file with a clear error', async () => {
    const t = build([0, 1, 2, 3, 4])
    const file = path.join(work, 'good.tree')
    t.save(file)
    const good = fs.readFileSync(file)
    const truncated = path.join(work, 'truncated.tree')
    fs.writeFileSync(truncated, good.subarray(0, good.length - 20))
    const e1 = await DirectoryInfo.load(truncated).catch((e: unknown) => e)
    expect(e1).toBeInstanceOf(TreeFileError)
    expect((e1 as Error).message).toContain('truncated')
    const corrupt = path.join(work, 'corrupt.tree')
    const flipped = Buffer.from(good)
    flipped[Math.floor(flipped.length / 2)] = (flipped[Math.floor(flipped.length / 2)] as number) ^ 0x20
    fs.writeFileSync(corrupt, flipped)
    const e2 = await DirectoryInfo.load(corrupt).catch((e: unknown) => e)
    expect(e2).toBeInstanceOf(TreeFileError)
    expect((e2 as TreeFileError).code).toBe('E_BAD_TREE_FILE')
    // the command line says so too, with exit code 1
    const r = cli(['compare', corrupt, file])
    expect(r.code).toBe(1)
    expect(r.stderr).toMatch(/corrupt|truncated/)
  })

  it('rejects bad batches', () => {
    const t = DirectoryInfo.empty()
    expect(() => t.addFiles(['relative/path'], [1], [0])).toThrow(/absolute/)
    expect(() => t.tree.addFiles(Buffer.from('/a\0/b\0'), Float64Array.of(1), Float64Array.of(0, 0))).toThrow(
      /one of each/,
    )
    expect(() => t.addFiles(['/a'], [1.5], [0])).toThrow(/whole number/)
    expect(t.fileCount).toBe(0)
  })
})
