import * as fs from 'node:fs'
import * as path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { config } from '../src/config'
import * as remotelister from '../src/remotelister'
import { tempDir, writeFile } from './helpers/cli'
import { slowProxy, XrootdServer } from './helpers/xrootd-server'

const server = new XrootdServer()
const work = tempDir('site-xrootd')

// directories named as at a CMS site: paths of 70 to 150 characters
const MC =
  'store/mc/RunIISummer20UL18MiniAODv2/DYJetsToLL_M-50_TuneCP5_13TeV-amcatnloFXFX-pythia8/MINIAODSIM/106X_upgrade2018_realistic_v16_L1v1-v2'
const DATA = 'store/data/Run2018D/SingleMuon/MINIAOD/UL2018_MiniAODv2_GT36-v1/2430000'

beforeAll(async () => {
  for (let i = 0; i < 30; i++) writeFile(path.join(server.data, `${MC}/${(i % 3) + 12}0000/${i}.root`), i + 1)
  writeFile(path.join(server.data, `${DATA}/d.root`), 99)
  writeFile(path.join(server.data, 'store/user/private.root'), 5)
  // a site whose LFNs lie below a storage prefix
  writeFile(path.join(server.data, `cms/${MC}/p/1.root`), 7)
  writeFile(path.join(server.data, 'cms/store/data/q/2.root'), 8)
  // what a global redirector is asked for to find the site
  fs.mkdirSync(path.join(server.data, 'store/test/xrootd/T2_TEST'), { recursive: true })
  await server.start()
})

afterAll(async () => {
  config.setLocation(null)
  await server.stop()
  fs.rmSync(work, { recursive: true, force: true })
})

function configure(name: string, values: Record<string, unknown>): void {
  const file = path.join(work, `${name}.json`)
  fs.writeFileSync(
    file,
    JSON.stringify({ DirectoryList: ['mc', 'data'], VarLocation: path.join(work, 'var'), ...values }),
  )
  config.setLocation(file)
}

describe('a site listed over XRootD from the configuration', () => {
  it('names the files below PathPrefix by their LFNs, with each access method', async () => {
    for (const method of ['XRootD', 'directx']) {
      configure(`prefix-${method}`, {
        Redirectors: { T2_TEST: server.hostPort },
        AccessMethod: { T2_TEST: method },
        PathPrefix: { T2_TEST: '/cms' },
      })
      const tree = await remotelister.listing('T2_TEST')
      expect(tree.getFiles(), method).toEqual(['/store/data/q/2.root', `/${MC}/p/1.root`])
      expect(tree.getUnlisted()).toEqual([])
    }
  })

  it('lists RootPath/DirectoryList through the door in Redirectors, with each access method', async () => {
    for (const method of ['XRootD', 'directx']) {
      configure(`door-${method}`, { Redirectors: { T2_TEST: server.hostPort }, AccessMethod: { T2_TEST: method } })
      const tree = await remotelister.listing('T2_TEST')
      expect(tree.fileCount).toBe(31)
      expect(tree.getFiles()).not.toContain('/store/user/private.root')
      expect(tree.getNode(`/${DATA}`)?.files).toEqual([{ name: 'd.root', size: 99, mtime: expect.any(Number) }])
      expect(tree.getUnlisted()).toEqual([])
    }
  })

  it('finds the door through GlobalRedirectors when Redirectors has none', async () => {
    configure('global', { GlobalRedirectors: ['127.0.0.1:1', server.hostPort], Timeout: 5 })
    expect(await remotelister.locateDoor('T2_TEST')).toBe(server.hostPort)
    const tree = await remotelister.listing('T2_TEST')
    expect(tree.fileCount).toBe(31)
    await expect(remotelister.listing('T2_UNKNOWN')).rejects.toThrow(/Redirectors.T2_UNKNOWN/)
  })

  it('keeps a door found for RedirectorAge days, as the original kept its redirector lists', async () => {
    configure('redirector-age', { GlobalRedirectors: [server.hostPort], Timeout: 5, RedirectorAge: 1 })
    const file = remotelister.doorCacheFile()
    expect(await remotelister.locateDoor('T2_TEST')).toBe(server.hostPort)
    const kept = JSON.parse(fs.readFileSync(file, 'utf8'))
    expect(kept.T2_TEST.door).toBe(server.hostPort)
    // a cached door is used without asking the global redirectors
    kept.T2_TEST.door = 'cached.example:1094'
    fs.writeFileSync(file, JSON.stringify(kept))
    expect(await remotelister.locateDoor('T2_TEST')).toBe('cached.example:1094')
    // too old: asked again, and kept anew
    kept.T2_TEST.time -= 2 * 86_400
    fs.writeFileSync(file, JSON.stringify(kept))
    expect(await remotelister.locateDoor('T2_TEST')).toBe(server.hostPort)
    // 0: never too old
    configure('redirector-age', { GlobalRedirectors: [server.hostPort], Timeout: 5, RedirectorAge: 0 })
    fs.writeFileSync(file, JSON.stringify({ T2_TEST: { door: 'cached.example:1094', time: 0 } }))
    expect(await remotelister.locateDoor('T2_TEST')).toBe('cached.example:1094')
    // not set: no cache
    configure('redirector-age', { GlobalRedirectors: [server.hostPort], Timeout: 5 })
    expect(await remotelister.locateDoor('T2_TEST')).toBe(server.hostPort)
  })

  it('spreads the connections over the servers the door names, unless the site is in UseLoadBalancer', async () => {
    const DIRLIST = 3004
    const LOCATE = 3027
    for (const method of ['XRootD', 'directx']) {
      // a door in front of the server: what it passes on is counted
      const door = await slowProxy(server.port, 0)
      try {
        const redirect = { Redirectors: { T2_TEST: `127.0.0.1:${door.port}` }, AccessMethod: { T2_TEST: method } }
        configure(`doors-${method}`, redirect)
        const opts = await remotelister.siteListOptions(
          'T2_TEST',
          { target: `root://127.0.0.1:${door.port}/`, method: method === 'XRootD' ? 'native' : 'xrdfs' },
          remotelister.siteRoots(),
        )
        // the server behind the door answers locate with its own address
        expect(opts.doors).toEqual([server.hostPort])
        expect(opts.depth).toBe(method === 'XRootD' ? 4 : undefined)
        const direct = await remotelister.listing('T2_TEST')
        expect(direct.fileCount).toBe(31)
        expect(door.requests.get(LOCATE)).toBeGreaterThanOrEqual(1)
        expect(door.requests.get(DIRLIST) ?? 0).toBe(0)

        configure(`balanced-${method}`, { ...redirect, UseLoadBalancer: ['T2_TEST'], RequestsInFlight: 0 })
        const balanced = await remotelister.listing('T2_TEST')
        expect(balanced.hash).toBe(direct.hash)
        // xrdfs stats and locates before it lists; the native lister only lists
        expect(door.requests.get(DIRLIST)).toBeGreaterThanOrEqual(balanced.nodeCount - 3)
      } finally {
        await door.close()
      }
    }
  })

  it('reuses a cached listing for ListAge days', async () => {
    configure('cached', { Redirectors: { T2_TEST: server.hostPort }, ListAge: 1 })
    const first = await remotelister.listing('T2_TEST')
    writeFile(path.join(server.data, `${MC}/120000/new.root`), 7)
    const second = await remotelister.listing('T2_TEST')
    expect(second.hash).toBe(first.hash)
    configure('fresh', { Redirectors: { T2_TEST: server.hostPort }, ListAge: 0 })
    const third = await remotelister.listing('T2_TEST')
    expect(third.fileCount).toBe(first.fileCount + 1)
  })
})
