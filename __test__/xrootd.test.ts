// Remote listing against a real XRootD server started by the test: the
// native lister, the xrdfs shells and gfal-ls, each checked against the
// local walk of the exported directory (`find`, the oracle).
import { spawn, spawnSync } from 'node:child_process'
import * as fs from 'node:fs'
import * as path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type ListMethod, listRemote } from '../src/native'
import { byteSort, CLI, cli, tempDir, writeFile } from './helpers/cli'
import { have, silentServer, slowProxy, XrootdServer } from './helpers/xrootd-server'

if (!have('xrootd')) throw new Error('these tests need xrootd (Debian package xrootd-server)')

const server = new XrootdServer()
const work = tempDir('xrootd-out')
const DIRS = 40
const PER_DIR = 12

/** Directory `d` of the site, as a CMS site names them: paths of 140 characters and more. */
function blockDir(d: number): string {
  const era = 6 + (d % 3)
  return `store/mc/RunIISummer20UL1${era}MiniAODv2/DYJetsToLL_M-50_TuneCP5_13TeV-amcatnloFXFX-pythia8/MINIAODSIM/106X_upgrade201${era}_realistic_v16_L1v1-v${1 + (d % 4)}/${(d + 10) * 10000}`
}

/** Every file below `root` as `LFN|size|mtime`, LFNs from `root`. */
function findListing(root: string): string[] {
  const r = spawnSync('find', [root, '-not', '-type', 'd', '-printf', '%s %T@ %p\\0'], {
    encoding: 'buffer',
    maxBuffer: 64 << 20,
  })
  expect(r.status).toBe(0)
  return byteSort(
    r.stdout
      .toString('utf8')
      .split('\0')
      .filter(Boolean)
      .map((rec) => {
        const [size, mtime, ...rest] = rec.split(' ')
        return `${rest.join(' ').slice(root.length)}|${size}|${Math.floor(Number(mtime))}`
      }),
  )
}

function outputLines(text: string): string[] {
  return text === '' ? [] : text.replace(/\n$/, '').split('\n')
}

beforeAll(async () => {
  let n = 0
  for (let d = 0; d < DIRS; d++) {
    const dir = path.join(server.data, blockDir(d))
    for (let f = 0; f < PER_DIR; f++, n++) {
      const name = f % 4 === 0 ? `with space ${n}.root` : f % 4 === 1 ? `ünï-${n}.root` : `${n.toString(16)}-file.root`
      writeFile(path.join(dir, name), (n % 89) + 1, 1_500_000_000 + n * 37)
    }
  }
  writeFile(path.join(server.data, 'store/data/top file'), 5)
  fs.mkdirSync(path.join(server.data, 'store/data/empty'), { recursive: true })
  await server.start()
})

afterAll(async () => {
  await server.stop()
  fs.rmSync(work, { recursive: true, force: true })
})

const methods: ListMethod[] = ['native', 'xrdfs', ...(have('gfal-ls') ? (['gfal'] as const) : [])]

describe.each(methods)('the %s lister', (method) => {
  it('lists what the local walk of the exported directory holds: names, sizes, mtimes', () => {
    const r = cli(['list', server.url('/store'), '--method', method, '--threads', '4'])
    expect(r.stderr).not.toMatch(/unlisted/)
    expect(r.code).toBe(0)
    const want = findListing(server.data)
    expect(want.length).toBe(DIRS * PER_DIR + 1)
    expect(`/${blockDir(0)}`.length).toBeGreaterThanOrEqual(140)
    expect(outputLines(r.stdout)).toEqual(want)
  })

  it('records a directory it may not read as unlisted and lists its siblings', async () => {
    const locked = path.join(server.data, blockDir(1))
    fs.chmodSync(locked, 0o000)
    try {
      const tree = await listRemote(server.url('/store/mc'), { method, threads: 3, retries: 1 })
      const unlisted = tree.getUnlisted()
      expect(unlisted.map((u) => u.path)).toEqual([`/${blockDir(1)}`])
      expect(unlisted[0]?.reason).toMatch(/denied|not authorized|3010|13/i)
      expect(tree.fileCount).toBe((DIRS - 1) * PER_DIR)
    } finally {
      fs.chmodSync(locked, 0o755)
    }
  })

  it('ends each attempt at the timeout against a server that never answers', async () => {
    const silent = await silentServer()
    try {
      const tree = await listRemote(`root://127.0.0.1:${silent.port}//store`, {
        method,
        threads: 2,
        retries: 1,
        timeout: 2,
      })
      const unlisted = tree.getUnlisted()
      expect(unlisted.map((u) => u.path)).toEqual(['/store'])
      expect(unlisted[0]?.reason).toMatch(/after 2 attempts/)
      expect(tree.fileCount).toBe(0)
    } finally {
      await silent.close()
    }
  })
})

describe('the native lister with requests in flight', () => {
  it.each([
    ['0', '3'],
    ['1', '1'],
    ['32', '2'],
  ])('lists the same files with --depth %s over %s connections', (depth, threads) => {
    const r = cli(['list', server.url('/store'), '--threads', threads, '--depth', depth])
    expect(r.stderr).not.toMatch(/unlisted/)
    expect(r.code).toBe(0)
    expect(outputLines(r.stdout)).toEqual(findListing(server.data))
  })

  it('refuses a depth that is not a whole number from 0 to 1024', () => {
    for (const bad of ['-1', '1.5', 'many', '1025']) {
      const r = cli(['list', server.url('/store'), '--depth', bad])
      expect(r.code).toBe(2)
      expect(r.stderr).toContain(`list: --depth must be a whole number from 0 to 1024, not ${bad}`)
      expect(r.stdout).toBe('')
    }
  })
})

describe('a listing through trouble', () => {
  it('loses no file when the server is killed mid-listing and started again', async () => {
    const proxy = await slowProxy(server.port, 3)
    let restarted = false
    let restart: Promise<void> | null = null
    try {
      const tree = await listRemote(
        `root://127.0.0.1:${proxy.port}//store`,
        { threads: 2, retries: 4, timeout: 10, progressIntervalMs: 10 },
        (p) => {
          if (!restart && p.dirsDone >= 15) {
            restart = (async () => {
              await server.kill()
              await new Promise((r) => setTimeout(r, 1000))
              await server.start()
              restarted = true
            })()
          }
        },
      )
      await restart
      expect(restarted).toBe(true)
      const unlisted = tree.getUnlisted().map((u) => u.path)
      const listed = new Set(
        outputLines(
          (() => {
            const f = path.join(work, 'restart.txt')
            tree.writeListing(f)
            return fs.readFileSync(f, 'utf8')
          })(),
        ),
      )
      const want = findListing(server.data)
      for (const line of want) {
        const lfn = line.split('|')[0] as string
        if (!listed.has(line)) expect(unlisted.some((u) => lfn.startsWith(`${u}/`))).toBe(true)
      }
      for (const line of listed) expect(want).toContain(line)
    } finally {
      await proxy.close()
    }
  })

  it('resumes a listing whose process was killed and ends with the clean tree', async () => {
    // a slow server so that the listing is still running when its first checkpoint is written
    const proxy = await slowProxy(server.port, 150)
    try {
      const url = `root://127.0.0.1:${proxy.port}//store`
      const out = path.join(work, 'resumed.txt')
      const child = spawn(process.execPath, [CLI, 'list', url, '--threads', '1', '--output', out, '--format', 'text'], {
        stdio: 'ignore',
      })
      const exited = new Promise((r) => child.once('exit', r))
      const checkpoint = `${out}.checkpoint`
      for (let i = 0; i < 600 && !fs.existsSync(checkpoint) && child.exitCode === null; i++)
        await new Promise((r) => setTimeout(r, 50))
      expect(fs.existsSync(checkpoint)).toBe(true)
      child.kill('SIGKILL')
      await exited
      expect(fs.existsSync(out)).toBe(false)

      // through the same door, since a checkpoint is of one target and refuses another;
      // spawned, not run synchronously, so that the proxy in this process goes on passing requests
      const resumed = await new Promise<{ code: number | null }>((resolve) => {
        const args = [CLI, 'list', url, '--threads', '3', '--output', out, '--format', 'text', '--resume']
        spawn(process.execPath, args, { stdio: 'ignore' }).once('exit', (code) => resolve({ code }))
      })
      expect(resumed.code).toBe(0)
      expect(fs.existsSync(checkpoint)).toBe(false)
      const clean = cli(['list', server.url('/store'), '--threads', '3'])
      expect(outputLines(fs.readFileSync(out, 'utf8'))).toEqual(outputLines(clean.stdout))
      expect(outputLines(clean.stdout)).toEqual(findListing(server.data))
    } finally {
      await proxy.close()
    }
  })
})
