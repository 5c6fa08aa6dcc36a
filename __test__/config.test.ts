import * as fs from 'node:fs'
import * as path from 'node:path'
import { afterAll, afterEach, describe, expect, it } from 'vitest'
import { Config, SCHEMA } from '../src/config'
import { ConfigError } from '../src/errors'
import { tempDir } from './helpers/cli'

const work = tempDir('config')
afterAll(() => fs.rmSync(work, { recursive: true, force: true }))
afterEach(() => {
  delete process.env.IgnoreAge
  delete process.env.DirectoryList
  delete process.env.Timeout
})

function write(name: string, text: string): string {
  const file = path.join(work, name)
  fs.writeFileSync(file, text)
  return file
}

describe('configuration', () => {
  it('reads JSON and YAML with defaults for the rest', () => {
    const c = new Config()
    c.setLocation(
      write('a.json', JSON.stringify({ IgnoreAge: 3, DirectoryList: ['mc'], AccessMethod: { T2_US_MIT: 'directx' } })),
    )
    expect(c.get('IgnoreAge')).toBe(3)
    expect(c.get('DirectoryList')).toEqual(['mc'])
    expect(c.site('AccessMethod', 'T2_US_MIT', 'XRootD')).toBe('directx')
    expect(c.site('AccessMethod', 'T1_US_FNAL_Disk', 'XRootD')).toBe('XRootD')
    expect(c.get('RootPath')).toBe('/store')
    c.setLocation(write('a.yaml', 'IgnoreAge: 1.5\nRedirectors:\n  T2_US_MIT: xrootd.cmsaf.mit.edu\n'))
    expect(c.get('IgnoreAge')).toBe(1.5)
    expect(c.site('Redirectors', 'T2_US_MIT', '')).toBe('xrootd.cmsaf.mit.edu')
  })

  it('lets an environment variable named as a key override it', () => {
    const c = new Config()
    c.setLocation(write('b.json', '{"IgnoreAge": 3}'))
    process.env.IgnoreAge = '7'
    process.env.DirectoryList = '["data"]'
    expect(c.get('IgnoreAge')).toBe(7)
    expect(c.get('DirectoryList')).toEqual(['data'])
    process.env.IgnoreAge = 'soon'
    expect(() => c.get('IgnoreAge')).toThrow(/environment variable IgnoreAge: IgnoreAge must be a number/)
  })

  it('names the key and the file of a bad value', () => {
    const c = new Config()
    const bad = write('bad.yaml', 'NumThreads: -2\n')
    c.setLocation(bad)
    expect(() => c.configDict()).toThrow(ConfigError)
    expect(() => c.configDict()).toThrow(`${bad}: NumThreads must be at least 1`)
    const deep = write('deep.yaml', 'RequestsInFlight: 5000\n')
    c.setLocation(deep)
    expect(() => c.configDict()).toThrow(`${deep}: RequestsInFlight must be at most 1024`)
    c.setLocation(write('typo.json', '{"IgnoreAgee": 1}'))
    expect(() => c.configDict()).toThrow(/unknown key IgnoreAgee \(did you mean IgnoreAge\?\)/)
    c.setLocation(write('site.json', '{"AccessMethod": {"T2_X": 5}}'))
    expect(() => c.configDict()).toThrow(/AccessMethod.T2_X must be a string/)
    c.setLocation(write('broken.json', '{"IgnoreAge": '))
    expect(() => c.configDict()).toThrow(/not valid JSON/)
    c.setLocation(path.join(work, 'absent.yaml'))
    expect(() => c.configDict()).toThrow(/cannot read the configuration/)
  })

  it('gives every number a maximum, so that no value overflows a clock', () => {
    for (const [key, spec] of Object.entries(SCHEMA)) {
      if (spec.kind === 'number' || spec.kind === 'integer') {
        expect(spec.max, key).toBeTypeOf('number')
        expect(spec.min, key).toBeTypeOf('number')
      }
    }
    const c = new Config()
    const file = write('huge.yaml', 'Timeout: 1e300\n')
    c.setLocation(file)
    expect(() => c.get('Timeout')).toThrow(`${file}: Timeout must be at most 86400`)
    c.setLocation(write('fine.yaml', 'Timeout: 86400\n'))
    expect(c.get('Timeout')).toBe(86400)
    process.env.Timeout = '1e300'
    expect(() => c.get('Timeout')).toThrow('environment variable Timeout: Timeout must be at most 86400')
    c.setLocation(write('retries.json', '{"Retries": 4294967296}'))
    delete process.env.Timeout
    expect(() => c.get('Retries')).toThrow(/Retries must be at most 100/)
  })

  it("loads the original's own consistency_config.json unchanged, each key with its meaning", () => {
    const c = new Config()
    c.setLocation(path.join(__dirname, 'fixtures', 'original', 'consistency_config.json'))
    const v = c.configDict()
    // keys of the same name and unit
    expect(v.Timeout).toBe(60)
    expect(v.Retries).toBe(1)
    expect(v.InventoryAge).toBe(5e-5)
    expect(v.ListAge).toBe(5e-5)
    expect(v.IgnoreAge).toBe(1)
    expect(v.NumThreads).toBe(1)
    expect(v.GFALThreads).toBe(32)
    expect(v.VarLocation).toBe('var')
    expect(v.WebDir).toBe('www')
    expect(v.RootPath).toBe('/store')
    expect(v.DirectoryList).toEqual(['mc', 'data', 'hidata'])
    expect(v.IgnoreDirectories).toEqual(['/RAW'])
    expect(v.GlobalRedirectors).toEqual(['cms-xrd-global.cern.ch'])
    expect(c.site('Redirectors', 'T3_US_MIT', '')).toBe('t3serv006.mit.edu')
    expect(v.PathPrefix).toEqual({})
    expect(v.AccessMethod).toEqual({})
    expect(v.UseLoadBalancer).toEqual([])
    expect(v.MaxMissing).toBe(100)
    expect(v.MaxOrphan).toBe(1000)
    expect(v.Unmerged).toEqual(['T2_US_MIT', 'TEST_SITE'])
    expect(v.UnmergedLogsAge).toBe(60)
    expect(c.site('AdditionalLogDeletions', 'TEST_SITE', [])).toEqual(['logs/prod/recent'])
    // 0 and 1 are the original's false and true
    expect(v.SaveCache).toBe(false)
    expect(v.DeleteOrphans).toBe(true)
    expect(v.UseTransferQueue).toBe(false)
    // days a door found through GlobalRedirectors is reused
    expect(v.RedirectorAge).toBe(1)
    // GB of available memory a run needs: 0, none
    expect(v.FreeMem).toBe(0)
    // the listdeletable object, read as our unmerged keys
    expect(v.UnmergedMinAge).toBe(28)
    expect(v.UnmergedDirsToAvoid).toEqual([
      '/store/unmerged/tier0_harvest',
      '/store/unmerged/express',
      '/store/unmerged/data',
    ])
    // it names no protected list: nothing in unmerged is deletable (see findUnmerged)
    expect(v.ListDeletable).toBe('')
  })

  it("reads the original's ListDeletable object as our keys, ours winning when set", () => {
    const c = new Config()
    const original = {
      LFN_TO_CLEAN: '/store/unmerged',
      MIN_AGE: 7 * 86400,
      DIRS_TO_AVOID: ['logs', 'SAM/', '/store/unmerged/other'],
      WHICH_LIST: 'directories',
      ProtectedList: 'protected.txt',
    }
    c.setLocation(write('ld.json', JSON.stringify({ ListDeletable: original })))
    expect(c.get('UnmergedMinAge')).toBe(7)
    expect(c.get('UnmergedDirsToAvoid')).toEqual(['/store/unmerged/SAM', '/store/unmerged/other'])
    expect(c.get('ListDeletable')).toBe('protected.txt')
    c.setLocation(write('ld2.json', JSON.stringify({ ListDeletable: original, UnmergedMinAge: 3 })))
    expect(c.get('UnmergedMinAge')).toBe(3)
    // the defaults: the original's, where they are the more careful
    c.setLocation(write('none.json', '{}'))
    expect(c.get('UnmergedMinAge')).toBe(28)
    expect(c.get('UnmergedLogsAge')).toBe(60)
    expect(c.get('UnmergedDirsToAvoid')).toEqual([
      '/store/unmerged/SAM',
      '/store/unmerged/tier0_harvest',
      '/store/unmerged/express',
      '/store/unmerged/data',
    ])
    expect(c.get('ListDeletable')).toBe('')
    expect(c.get('RedirectorAge')).toBe(null)
    // its mistakes name the key
    c.setLocation(write('ld3.json', '{"ListDeletable": {"MIN_AGES": 1}}'))
    expect(() => c.configDict()).toThrow(/unknown key ListDeletable.MIN_AGES/)
    c.setLocation(write('ld4.json', '{"ListDeletable": {"LFN_TO_CLEAN": "/store/dcachetests/unmerged"}}'))
    expect(() => c.configDict()).toThrow(/ListDeletable.LFN_TO_CLEAN must be \/store\/unmerged/)
    c.setLocation(write('ld5.json', '{"ListDeletable": {"WHICH_LIST": "all"}}'))
    expect(() => c.configDict()).toThrow(/ListDeletable.WHICH_LIST must be one of files, directories/)
    c.setLocation(write('flag.json', '{"DeleteOrphans": 2}'))
    expect(() => c.configDict()).toThrow(/DeleteOrphans must be true or false \(or 0 or 1\)/)
    c.setLocation(write('mem.json', '{"FreeMem": true}'))
    expect(c.get('FreeMem')).toBe(true)
    c.setLocation(write('mem2.json', '{"FreeMem": "lots"}'))
    expect(() => c.configDict()).toThrow(/FreeMem must be a number/)
  })
})
