import * as fs from 'node:fs'
import * as path from 'node:path'
import { describe, expect, it } from 'vitest'
import { Lister, type ListerEntry } from '../src/remotelister'
import { tempDir } from './helpers/cli'

/** A storage system known only to TypeScript: a map of directories. */
class MapLister extends Lister {
  calls = 0
  constructor(
    private readonly dirs: Map<string, ListerEntry[]>,
    private readonly failures: Map<string, { times: number; retryable: boolean }> = new Map(),
  ) {
    super()
  }

  async lsDirectory(lfn: string): Promise<ListerEntry[]> {
    this.calls++
    await new Promise((r) => setTimeout(r, 1))
    const f = this.failures.get(lfn)
    if (f && f.times > 0) {
      f.times--
      throw Object.assign(new Error(`${lfn}: door busy`), { retryable: f.retryable })
    }
    const entries = this.dirs.get(lfn)
    if (!entries) throw new Error(`${lfn}: no such directory`)
    return entries
  }
}

function site(): Map<string, ListerEntry[]> {
  const dirs = new Map<string, ListerEntry[]>()
  dirs.set('/store', [
    { name: 'mc', isDir: true },
    { name: 'gone', isDir: true },
    { name: 'flaky', isDir: true },
  ])
  const mc: ListerEntry[] = []
  for (let i = 0; i < 20; i++) {
    mc.push({ name: `d${i}`, isDir: true, mtime: 1_500_000_000 })
    dirs.set(
      `/store/mc/d${i}`,
      Array.from({ length: 10 }, (_, j) => ({
        name: `f ${j}.root`,
        isDir: false,
        size: i * 10 + j,
        mtime: 1_500_000_000 + j,
      })),
    )
  }
  dirs.set('/store/mc', mc)
  dirs.set('/store/flaky', [{ name: 'x.root', isDir: false, size: 7, mtime: 1 }])
  return dirs
}

describe('a lister written in TypeScript', () => {
  it('runs on the native engine with retries and unlisted directories', async () => {
    const lister = new MapLister(site(), new Map([['/store/flaky', { times: 1, retryable: true }]]))
    const tree = await lister.list({ roots: ['/store'], threads: 4, retries: 1 })
    expect(tree.fileCount).toBe(20 * 10 + 1)
    expect(tree.totalSize).toBe(Array.from({ length: 200 }, (_, k) => k).reduce((a, b) => a + b, 0) + 7)
    expect(tree.getNode('/store/mc/d3')?.files.map((f) => f.name)).toContain('f 9.root')
    expect(tree.getUnlisted()).toEqual([
      { path: '/store/gone', reason: '/store/gone: no such directory', timedOut: false },
    ])
    // the flaky directory failed once and was listed on its retry
    expect(tree.getNode('/store/flaky')?.files).toHaveLength(1)
  })

  it('records a directory the lister gives no answer for in time as unlisted and timed out', async () => {
    class SlowLister extends MapLister {
      override async lsDirectory(lfn: string): Promise<ListerEntry[]> {
        if (lfn === '/store/flaky') await new Promise((r) => setTimeout(r, 1_000))
        return super.lsDirectory(lfn)
      }
    }
    const tree = await new SlowLister(site()).list({ roots: ['/store'], threads: 2, retries: 0, timeout: 0.2 })
    const unlisted = tree.getUnlisted()
    expect(unlisted.map((u) => [u.path, u.timedOut])).toEqual([
      ['/store/flaky', true],
      ['/store/gone', false],
    ])
    expect(unlisted[0]?.reason).toMatch(/no answer/)
  })

  it('records a directory whose lister says it timed out as unlisted and timed out, after its retries', async () => {
    class TimingOut extends MapLister {
      tries = 0
      override async lsDirectory(lfn: string): Promise<ListerEntry[]> {
        if (lfn !== '/store/flaky') return super.lsDirectory(lfn)
        this.tries++
        throw Object.assign(new Error('/store/flaky: the door took too long'), { timedOut: true })
      }
    }
    const lister = new TimingOut(site())
    const tree = await lister.list({ roots: ['/store'], threads: 2, retries: 2 })
    expect(tree.getUnlisted().map((u) => [u.path, u.timedOut])).toEqual([
      ['/store/flaky', true],
      ['/store/gone', false],
    ])
    expect(lister.tries).toBe(3)
  })

  it('gives the same tree with one worker or many', async () => {
    const one = await new MapLister(site()).list({ roots: ['/store'], threads: 1 })
    const many = await new MapLister(site()).list({ roots: ['/store'], threads: 8 })
    expect(many.hash).toBe(one.hash)
  })

  it('records a directory whose error is final as unlisted without retrying it', async () => {
    const lister = new MapLister(site(), new Map([['/store/flaky', { times: 5, retryable: false }]]))
    const tree = await lister.list({ roots: ['/store'], threads: 2, retries: 3 })
    expect(tree.getUnlisted().map((u) => u.path)).toEqual(['/store/flaky', '/store/gone'])
    // /store, its three subdirectories (flaky once, not retried) and the twenty below mc
    expect(lister.calls).toBe(1 + 3 + 20)
  })

  it('writes a checkpoint every checkpointInterval seconds while it lists, and removes it at the end', async () => {
    const checkpoint = path.join(tempDir('js-checkpoint'), 'listing.checkpoint')
    let sawCheckpoint = false
    class Waiting extends MapLister {
      override async lsDirectory(lfn: string): Promise<ListerEntry[]> {
        // one directory waits (at most 20 s) for a checkpoint written meanwhile
        if (lfn === '/store/mc/d7') {
          for (let i = 0; i < 400 && !sawCheckpoint; i++) {
            sawCheckpoint = fs.existsSync(checkpoint)
            if (!sawCheckpoint) await new Promise((r) => setTimeout(r, 50))
          }
        }
        return super.lsDirectory(lfn)
      }
    }
    const tree = await new Waiting(site()).list({ roots: ['/store'], threads: 2, checkpoint, checkpointInterval: 0.05 })
    expect(sawCheckpoint).toBe(true)
    expect(tree.fileCount).toBe(20 * 10 + 1)
    expect(fs.existsSync(checkpoint)).toBe(false)
  })
})
