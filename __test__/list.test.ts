import { spawn, spawnSync } from 'node:child_process'
import * as fs from 'node:fs'
import * as path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { CancelledError } from '../src/errors'
import type { ListProgress } from '../src/native'
import { listRemote } from '../src/remotelister'
import { byteSort, CLI, cli, lines, tempDir, writeFile } from './helpers/cli'

const work = tempDir('list')
const storage = path.join(work, 'storage')
afterAll(() => {
  spawnSync('chmod', ['-R', 'u+rwx', work])
  fs.rmSync(work, { recursive: true, force: true })
})

/** A generated site: 60 directories of CMS-like files plus odd names. */
beforeAll(() => {
  let n = 0
  for (let d = 0; d < 60; d++) {
    const dir = `store/mc/Era${d % 3}/Primary${d % 5}/AODSIM/Proc-v${d % 2}/${String(d).padStart(5, '0')}`
    for (let f = 0; f < 25; f++) {
      writeFile(
        path.join(storage, dir, `${(n * 7919).toString(16).padStart(8, '0')}-file.root`),
        (n % 97) + 1,
        1_500_000_000 + n,
      )
      n++
    }
  }
  writeFile(path.join(storage, 'store/odd/with space.root'), 11)
  writeFile(path.join(storage, 'store/odd/ünïcødé.root'), 12)
  writeFile(path.join(storage, 'store/odd/new\nline.root'), 13)
  fs.mkdirSync(path.join(storage, 'store/empty/deeper'), { recursive: true })
  for (const d of ['store/empty/deeper', 'store/empty'])
    fs.utimesSync(path.join(storage, d), 1_500_000_000, 1_500_000_000)
  fs.symlinkSync(path.join(storage, 'store/mc'), path.join(storage, 'store/odd/link-to-mc'))
})

/** `find` as the oracle: every non-directory with its size and mtime. */
function findListing(root: string): string[] {
  const r = spawnSync('find', [root, '-not', '-type', 'd', '-printf', '%s %T@ %p\\0'], {
    encoding: 'buffer',
    maxBuffer: 64 << 20,
  })
  expect(r.status).toBe(0)
  return r.stdout
    .toString('utf8')
    .split('\0')
    .filter(Boolean)
    .map((rec) => {
      const [size, mtime, ...rest] = rec.split(' ')
      const lfn = rest.join(' ').slice(root.length)
      return `${lfn.replace(/\n/g, '\\n')}|${size}|${Math.floor(Number(mtime))}`
    })
}

describe('the local lister', () => {
  it('lists what find lists: names, sizes and mtimes, sorted by bytes', () => {
    const r = cli(['list', storage, '--threads', '3'])
    expect(r.code).toBe(0)
    const ours = r.stdout.replace(/\n$/, '').split('\n')
    expect(ours).toEqual(byteSort(findListing(storage)))
    expect(ours.length).toBe(60 * 25 + 4)
  })

  it('writes every line to a pipe whose reader falls behind', async () => {
    // far more than a pipe and the reader's buffer hold, read only after a pause: the writer waits
    const big = path.join(work, 'big')
    const dir = path.join(big, 'store/mc/RunIISummer20UL18MiniAODv2/DYJetsToLL_M-50_TuneCP5/MINIAODSIM/106X-v2/120000')
    for (let i = 0; i < 4000; i++)
      writeFile(path.join(dir, `${(i * 7919).toString(16).padStart(12, '0')}-file.root`), 1)
    const child = spawn(process.execPath, [CLI, 'list', big], { stdio: ['ignore', 'pipe', 'pipe'] })
    const closed = new Promise((r) => child.once('close', r))
    let stderr = ''
    child.stderr.on('data', (c) => {
      stderr += c
    })
    child.stdout.pause()
    await new Promise((r) => setTimeout(r, 1000))
    const chunks: Buffer[] = []
    child.stdout.on('data', (c: Buffer) => chunks.push(c))
    child.stdout.resume()
    expect(await closed, stderr).toBe(0)
    const out = Buffer.concat(chunks)
    expect(out.length).toBeGreaterThan(256 * 1024)
    expect(out.toString('utf8').replace(/\n$/, '').split('\n')).toEqual(byteSort(findListing(big)))
  }, 30_000)

  it('gives the same tree whatever the number of workers', async () => {
    const hashes = new Set<string>()
    for (const threads of [1, 2, 7]) hashes.add((await listRemote(storage, { threads })).hash)
    expect(hashes.size).toBe(1)
  })

  it('writes a tree file and a text listing that compare reads back', () => {
    const treeFile = path.join(work, 'site.tree')
    const textFile = path.join(work, 'site.txt')
    expect(cli(['list', storage, '--output', treeFile]).code).toBe(0)
    expect(cli(['list', storage, '--output', textFile, '--format', 'text']).code).toBe(0)
    expect(fs.existsSync(`${treeFile}.checkpoint`)).toBe(false)
    const r = cli(['compare', textFile, treeFile, '--output', path.join(work, 'self'), '--json'])
    expect(r.code).toBe(0)
    const summary = JSON.parse(r.stdout)
    expect(summary.missing.count).toBe(0)
    expect(summary.orphan.count).toBe(0)
    expect(summary.inventory.files).toBe(60 * 25 + 4)
    expect(lines(path.join(work, 'self_empty.txt'))).toEqual(['/store/empty/deeper', '/store/empty'])
  })

  it('records an unreadable directory as unlisted and lists its siblings', () => {
    const locked = path.join(storage, 'store/mc/Era0/Primary0/AODSIM/Proc-v0/00000')
    const before = fs.readdirSync(locked).length
    expect(before).toBe(25)
    fs.chmodSync(locked, 0o000)
    try {
      // root reads everything: list as an unprivileged user then
      const prefix = process.getuid?.() === 0 ? ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups'] : []
      const r = cli(['list', storage], { prefix })
      expect(r.code).toBe(0)
      expect(r.stderr).toMatch(/unlisted: \/store\/mc\/Era0\/Primary0\/AODSIM\/Proc-v0\/00000: .*Permission denied/)
      const listed = r.stdout.replace(/\n$/, '').split('\n')
      const expected = byteSort(findListing(storage)).filter(
        (l) => !l.startsWith('/store/mc/Era0/Primary0/AODSIM/Proc-v0/00000/'),
      )
      expect(listed).toEqual(expected)
      expect(listed.length).toBe(60 * 25 + 4 - 25)
    } finally {
      fs.chmodSync(locked, 0o755)
    }
  })

  it('reports progress and stops on abort', async () => {
    const events: ListProgress[] = []
    const tree = await listRemote(
      storage,
      { threads: 2, progressIntervalMs: 10 },
      { onProgress: (e) => events.push(e) },
    )
    // the last event arrives through the event loop
    for (let i = 0; i < 50 && !events.some((e) => e.done); i++) await new Promise((r) => setTimeout(r, 10))
    const last = events.find((e) => e.done)
    expect(last?.files).toBe(tree.fileCount)
    expect(last?.dirsQueued).toBe(0)

    const controller = new AbortController()
    controller.abort()
    const err = await listRemote(storage, { threads: 1 }, { signal: controller.signal }).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(CancelledError)
  })

  it('says plainly when the path is not a directory', () => {
    const r = cli(['list', path.join(work, 'nowhere')])
    expect(r.code).toBe(1)
    expect(r.stderr).toContain('nowhere')
    expect(cli(['list']).code).toBe(2)
    expect(cli(['list', storage, '--threads', '0']).code).toBe(2)
    expect(cli(['list', storage, '--format', 'tree']).code).toBe(2)
  })
})
