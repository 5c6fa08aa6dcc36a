// A door killed mid-listing and never started again: the circuit breaker
// finds it down once it has answered nothing for Timeout while every
// connection to it failed, and the listing ends with what is queued recorded
// unlisted, instead of trying each queued directory in turn for as long as
// there are any. Compared with the inventory (every file the site holds),
// nothing below an unlisted directory is reported missing.
import { type ChildProcess, spawn } from 'node:child_process'
import * as fs from 'node:fs'
import * as path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { listRemote, Tree } from '../src/native'
import { byteSort, CLI, cli, lines, tempDir, writeFile } from './helpers/cli'
import { have, slowProxy, XrootdServer } from './helpers/xrootd-server'

if (!have('xrootd')) throw new Error('these tests need xrootd (Debian package xrootd-server)')

const server = new XrootdServer()
// a second door to the same storage, as a site's data servers each see the whole namespace
const second = new XrootdServer()
const work = tempDir('dead-door')
const TIMEOUT = 2
const DIRLIST = 3004
const BLOCKS = 240
const DATASET =
  '/store/mc/RunIISummer20UL18MiniAODv2/DYJetsToLL_M-50_TuneCP5_13TeV-amcatnloFXFX-pythia8/MINIAODSIM/106X_upgrade2018_realistic_v16_L1v1-v2'
const inventory = path.join(work, 'inventory.txt')

beforeAll(async () => {
  // one dataset of 240 blocks: six directories down, then the blocks, most of them queued when the door dies
  const rows: string[] = []
  for (let b = 0; b < BLOCKS; b++) {
    for (let f = 0; f < 2; f++) {
      const lfn = `${DATASET}/${120000 + b * 10000}/${(b * 10 + f).toString(16).padStart(8, '0')}-4E5F-6789-ABCD-EF0123456789.root`
      writeFile(path.join(server.data, lfn), f + 1)
      rows.push(`${lfn}|${f + 1}|1500000000`)
    }
  }
  fs.writeFileSync(inventory, `${byteSort(rows).join('\n')}\n`)
  fs.rmdirSync(second.data)
  fs.symlinkSync(server.data, second.data)
})

afterAll(async () => {
  await second.stop()
  await server.stop()
  fs.rmSync(work, { recursive: true, force: true })
})

/** The exit code, or null when the process was still running at `ms`. */
function exitWithin(child: ChildProcess, ms: number): Promise<number | null> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(null), ms)
    child.once('exit', (code) => {
      clearTimeout(timer)
      resolve(code)
    })
  })
}

describe('a door that dies mid-listing', () => {
  // native: one thread keeps requests in flight on every connection; xrdfs: one worker per shell
  it.each([
    ['native', []],
    ['xrdfs', ['--method', 'xrdfs']],
  ])(
    'ends the %s listing within 2 x Timeout + 10 s, the queued directories unlisted, none of their files missing',
    async (method, extra) => {
      // started for each test: the test kills it
      await server.start()
      // a busy door: each connection's requests pass one after another, 30 ms apart
      const door = await slowProxy(server.port, 30)
      const out = path.join(work, `remote-${method}.tree`)
      let stderr = ''
      const child = spawn(
        process.execPath,
        [
          CLI,
          'list',
          `root://127.0.0.1:${door.port}//store`,
          '--threads',
          '4',
          '--retries',
          '1',
          '--timeout',
          String(TIMEOUT),
          '--output',
          out,
          ...extra,
        ],
        { stdio: ['ignore', 'ignore', 'pipe'] },
      )
      child.stderr?.on('data', (chunk) => {
        stderr += chunk
      })
      try {
        for (let i = 0; i < 400 && (door.requests.get(DIRLIST) ?? 0) < 30; i++)
          await new Promise((r) => setTimeout(r, 25))
        expect(door.requests.get(DIRLIST)).toBeGreaterThanOrEqual(30)
        await server.kill()
        const killed = Date.now()
        const limit = (2 * TIMEOUT + 10) * 1000
        const code = await exitWithin(child, limit + 1000)
        const took = Date.now() - killed
        expect(code, `still listing ${took} ms after the door died`).not.toBeNull()
        expect(took).toBeLessThanOrEqual(limit)
        // unlisted directories are data, not a failure
        expect(code, stderr).toBe(0)
        // those the door gave no answer for before it was found down failed their tries; the rest at once
        const reasons = Tree.load(out)
          .getUnlisted()
          .map((u) => u.reason)
        const unreachable = reasons.filter((r) =>
          /^server unreachable: no answer from 127\.0\.0\.1:\d+ for 2 s$/.test(r),
        )
        expect(unreachable.length, reasons.join('\n')).toBeGreaterThan(0)

        const base = path.join(work, `site-${method}`)
        const c = cli(['compare', inventory, out, '--output', base, '--json'])
        expect(c.code, c.stderr).toBe(0)
        const summary = JSON.parse(c.stdout)
        const unlisted = lines(`${base}_unlisted.txt`)
        // most of the site was queued, not listed, when the door died
        expect(unlisted.length).toBeGreaterThan(BLOCKS / 2)
        expect(summary.remote.files).toBeLessThan(BLOCKS)
        expect(summary.missing.count).toBe(0)
        expect(summary.orphan.count).toBe(0)
      } finally {
        child.kill('SIGKILL')
        await door.close()
      }
    },
    60_000,
  )

  it('hands the directories of a door that dies to the door still answering, and loses none', async () => {
    // the first door again (the test above left it dead), and the second
    await server.start()
    await second.start()
    const doors = [await slowProxy(server.port, 20), await slowProxy(second.port, 20)]
    try {
      const listing = listRemote(`root://127.0.0.1:${doors[0]?.port}//store`, {
        doors: doors.map((d) => `127.0.0.1:${d.port}`),
        threads: 4,
        retries: 1,
        timeout: TIMEOUT,
      })
      for (let i = 0; i < 400 && (doors[1]?.requests.get(DIRLIST) ?? 0) < 15; i++)
        await new Promise((r) => setTimeout(r, 25))
      await second.kill()
      const tree = await listing
      expect(tree.getUnlisted()).toEqual([])
      const f = path.join(work, 'two-doors.txt')
      tree.writeListing(f)
      expect(lines(f)).toEqual(lines(inventory))
    } finally {
      for (const d of doors) await d.close()
    }
  }, 60_000)
})
