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
})
