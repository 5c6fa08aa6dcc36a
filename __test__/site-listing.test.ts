import * as fs from 'node:fs'
import * as path from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { config } from '../src/config'
import { compare } from '../src/datatypes'
import { ConfigError } from '../src/errors'
import * as inventorylister from '../src/inventorylister'
import * as remotelister from '../src/remotelister'
import { listSite, siteListOptions } from '../src/site-listing'
import { tempDir, writeFile } from './helpers/cli'

const work = tempDir('site')
afterAll(() => {
  config.setLocation(null)
  fs.rmSync(work, { recursive: true, force: true })
})

/** Use a configuration with the keys every test here shares. */
function configure(name: string, values: Record<string, unknown>): void {
  const file = path.join(work, `${name}.json`)
  fs.writeFileSync(
    file,
    JSON.stringify({
      DirectoryList: ['mc', 'data'],
      IgnoreAge: 0,
      VarLocation: path.join(work, `var-${name}`),
      ...values,
    }),
  )
  config.setLocation(file)
}

describe('site listings from the configuration', () => {
  it('lists only RootPath/DirectoryList of a local site, and reads inventory and dump files', async () => {
    const storage = path.join(work, 'T2_LOCAL')
    writeFile(path.join(storage, 'store/mc/a/1.root'), 10)
    writeFile(path.join(storage, 'store/mc/a/dark.root'), 11)
    writeFile(path.join(storage, 'store/data/b/2.root'), 20)
    writeFile(path.join(storage, 'store/user/someone/private.root'), 30)
    const inventory = path.join(work, 'T2_LOCAL.inventory.txt')
    fs.writeFileSync(inventory, '/store/mc/a/1.root|10|0\n/store/data/b/2.root|20|0\n/store/data/b/lost.root|5|0\n')
    const dump = path.join(work, 'T2_DUMP.ral.txt')
    fs.writeFileSync(dump, '/store/mc/a/1.root 10 17000\n')
    configure('local', {
      AccessMethod: { T2_LOCAL: `local:${storage}`, T2_DUMP: `dump-ral:${dump}`, T2_BROKEN: 'local' },
      InventoryListing: { T2_LOCAL: inventory },
    })
    const remote = await remotelister.listing('T2_LOCAL')
    expect(remote.getFiles()).toEqual(['/store/data/b/2.root', '/store/mc/a/1.root', '/store/mc/a/dark.root'])
    const inv = await inventorylister.listing('T2_LOCAL')
    const r = await compare(inv, remote)
    expect(r.missing).toEqual(['/store/data/b/lost.root'])
    expect(r.orphan).toEqual(['/store/mc/a/dark.root'])

    const fromDump = await remotelister.listing('T2_DUMP')
    expect(fromDump.getFiles()).toEqual(['/store/mc/a/1.root'])
    expect(fromDump.getNode('/store/mc/a')?.files[0]?.mtime).toBe(17000 * 86400)

    await expect(remotelister.listing('T2_BROKEN')).rejects.toThrow(ConfigError)
    await expect(remotelister.listing('T2_NOWHERE')).rejects.toThrow(/Redirectors.T2_NOWHERE/)
    await expect(inventorylister.listing('T2_DUMP')).rejects.toThrow(/InventoryListing.T2_DUMP/)
  })

  it('names a server listing by LFN: the door path and PathPrefix are where the LFNs lie', async () => {
    // storage under <disk>/pnfs/cms, reached as file://<disk> with PathPrefix /pnfs/cms (gfal's file plugin)
    const disk = path.join(work, 'T2_PREFIX')
    writeFile(path.join(disk, 'pnfs/cms/store/mc/a/1.root'), 10)
    writeFile(path.join(disk, 'pnfs/cms/store/mc/a/dark.root'), 11)
    writeFile(path.join(disk, 'pnfs/cms/store/data/b/2.root'), 20)
    const inventory = path.join(work, 'T2_PREFIX.inventory.txt')
    fs.writeFileSync(inventory, '/store/mc/a/1.root|10|0\n/store/data/b/2.root|20|0\n/store/data/b/lost.root|5|0\n')
    configure('prefix', {
      AccessMethod: { T2_PREFIX: 'SRM', T2_PREFIX_LOCAL: `local:${path.join(disk, 'pnfs/cms')}` },
      Redirectors: { T2_PREFIX: `file://${disk}` },
      PathPrefix: { T2_PREFIX: '/pnfs/cms' },
      InventoryListing: { T2_PREFIX: inventory, T2_PREFIX_LOCAL: inventory },
      GFALThreads: 2,
    })
    const listed = await listSite('T2_PREFIX')
    expect(listed.options?.relative).toBe(true)
    expect(listed.tree.getFiles()).toEqual(['/store/data/b/2.root', '/store/mc/a/1.root', '/store/mc/a/dark.root'])
    expect(listed.tree.getUnlisted()).toEqual([])
    const local = await listSite('T2_PREFIX_LOCAL')
    const inv = await inventorylister.listing('T2_PREFIX')
    const viaDoor = await compare(inv, listed.tree)
    const viaDisk = await compare(inv, local.tree)
    expect(viaDoor.missing).toEqual(['/store/data/b/lost.root'])
    expect(viaDoor.orphan).toEqual(['/store/mc/a/dark.root'])
    expect({ missing: viaDoor.missing, orphan: viaDoor.orphan }).toEqual({
      missing: viaDisk.missing,
      orphan: viaDisk.orphan,
    })
  }, 60_000)

  it('marks a missing top directory unlisted, so nothing under it is missing', async () => {
    const storage = path.join(work, 'T2_PARTIAL')
    writeFile(path.join(storage, 'store/mc/x/1.root'), 1)
    const inventory = path.join(work, 'T2_PARTIAL.inventory.txt')
    fs.writeFileSync(inventory, '/store/mc/x/1.root|1|0\n/store/data/y/2.root|2|0\n')
    configure('partial', {
      AccessMethod: { T2_PARTIAL: `local:${storage}` },
      InventoryListing: { T2_PARTIAL: inventory },
    })
    const remote = await remotelister.listing('T2_PARTIAL')
    expect(remote.getUnlisted().map((u) => u.path)).toEqual(['/store/data'])
    const r = await compare(await inventorylister.listing('T2_PARTIAL'), remote)
    expect(r.missing).toEqual([])
  })

  it('says how the storage was listed: the threads and roots used, none for a dump or no roots', async () => {
    const storage = path.join(work, 'T2_HOW')
    writeFile(path.join(storage, 'store/mc/a/1.root'), 1)
    writeFile(path.join(storage, 'store/data/b/2.root'), 2)
    const dump = path.join(work, 'T2_HOW_DUMP.txt')
    fs.writeFileSync(dump, '/store/mc/a/1.root|1|0\n')
    configure('how', {
      AccessMethod: { T2_HOW: `local:${storage}`, T2_HOW_DUMP: `dump:${dump}` },
      NumThreads: 3,
      GFALThreads: 5,
    })
    const all = await listSite('T2_HOW')
    expect(all.tree.getFiles()).toEqual(['/store/data/b/2.root', '/store/mc/a/1.root'])
    expect(all.options).toMatchObject({ threads: 3, roots: ['/store/mc', '/store/data'] })
    const some = await listSite('T2_HOW', { roots: ['/store/mc'] })
    expect(some.tree.getFiles()).toEqual(['/store/mc/a/1.root'])
    expect(some.options?.roots).toEqual(['/store/mc'])
    const none = await listSite('T2_HOW', { roots: [] })
    expect([none.tree.fileCount, none.options]).toEqual([0, null])
    const dumped = await listSite('T2_HOW_DUMP')
    expect([dumped.tree.fileCount, dumped.options]).toEqual([1, null])
    // a gfal site is listed with GFALThreads
    const gfal = await siteListOptions('T2_HOW', { target: `file://${storage}`, method: 'gfal' }, ['/store/mc'])
    expect([gfal.method, gfal.threads]).toEqual(['gfal', 5])
  })
})
