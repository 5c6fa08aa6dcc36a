// A site's credentials in the configuration: validated, resolved against the
// configuration file, turned into the variables the client libraries read,
// and refused for the native lister when a process already listed with others.
import * as fs from 'node:fs'
import * as path from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { Config, config } from '../src/config'
import { credentialEnvironment, describeCredentials, proxyExpiry, useNativeCredentials } from '../src/credentials'
import { ConfigError, ConsistencyError } from '../src/errors'
import { listRemote } from '../src/native'
import { siteCredentials } from '../src/remotelister'
import { tempDir } from './helpers/cli'
import { canAuthenticate, makeGrid } from './helpers/credentials'

const work = tempDir('credentials')
afterAll(() => {
  config.setLocation(null)
  fs.rmSync(work, { recursive: true, force: true })
})

function configWith(name: string, value: unknown): Config {
  const file = path.join(work, name)
  fs.writeFileSync(file, JSON.stringify({ Credentials: value }))
  const c = new Config()
  c.setLocation(file)
  return c
}

describe('Credentials in the configuration', () => {
  it('gives each site its variables, files relative to the configuration file', () => {
    const file = path.join(work, 'site.json')
    fs.writeFileSync(
      file,
      JSON.stringify({
        Credentials: { T2_US_MIT: { proxy: 'x509up', certDir: '/etc/grid-security/certificates', keytab: '/k' } },
      }),
    )
    config.setLocation(file)
    expect(siteCredentials('T2_US_MIT')).toEqual({
      X509_USER_PROXY: path.join(work, 'x509up'),
      X509_CERT_DIR: '/etc/grid-security/certificates',
      XrdSecSSSKT: '/k',
    })
    // a site without any: the environment as it is
    expect(siteCredentials('T1_US_FNAL_Disk')).toEqual({})
    expect(credentialEnvironment({ token: '/t', protocols: 'ztn' })).toEqual({
      BEARER_TOKEN_FILE: '/t',
      XrdSecPROTOCOL: 'ztn',
    })
  })

  it('refuses a bad value with one line naming the key and the file', () => {
    const bad: [unknown, RegExp][] = [
      [['x'], /Credentials must be a mapping of site to credentials, not a list/],
      [{ T2_US_MIT: '/tmp/x509up_u0' }, /Credentials\.T2_US_MIT must be a mapping of proxy, certDir, keytab, token/],
      [{ T2_US_MIT: { proxi: '/p' } }, /unknown key Credentials\.T2_US_MIT\.proxi \(known: proxy, certDir/],
      [{ T2_US_MIT: { proxy: '' } }, /Credentials\.T2_US_MIT\.proxy must be a non-empty string/],
      [{ T2_US_MIT: { keytab: 3 } }, /Credentials\.T2_US_MIT\.keytab must be a non-empty string, not the number 3/],
    ]
    for (const [value, message] of bad) {
      const c = configWith('bad.json', value)
      let err: unknown
      try {
        c.get('Credentials')
      } catch (e) {
        err = e
      }
      expect(err).toBeInstanceOf(ConfigError)
      expect((err as Error).message).toMatch(message)
      expect((err as Error).message).toContain(path.join(work, 'bad.json'))
      expect((err as Error).message).not.toContain('\n')
    }
  })
})

describe('environment of the xrdfs and gfal processes', () => {
  it('refuses a name that is no variable name, or a value with a NUL', async () => {
    const bad: Record<string, string>[] = [{ 'A=B': 'x' }, { '': 'x' }, { X509_USER_PROXY: 'a\0b' }]
    for (const environment of bad) {
      const err = await listRemote('root://127.0.0.1:1//store', {
        method: 'xrdfs',
        environment,
        timeout: 1,
        retries: 0,
      }).catch((e: unknown) => e)
      expect(err).toBeInstanceOf(ConsistencyError)
      expect((err as ConsistencyError).code).toBe('E_INVALID_ARGUMENT')
      expect((err as Error).message).toMatch(/^environment: .* is not a variable name, or its value holds a NUL$/)
    }
  })
})

describe('credentials of the native lister', () => {
  it('are set in the process once; other ones later are refused, the same ones are not', () => {
    const before = process.env.XrdSecSSSKT
    try {
      useNativeCredentials('site T2_A', { XrdSecSSSKT: '/a.keytab' })
      expect(process.env.XrdSecSSSKT).toBe('/a.keytab')
      useNativeCredentials('site T2_A', { XrdSecSSSKT: '/a.keytab' })
      // none asked for: the environment as it is
      useNativeCredentials('site T2_C', {})
      let err: unknown
      try {
        useNativeCredentials('site T2_B', { XrdSecSSSKT: '/b.keytab' })
      } catch (e) {
        err = e
      }
      expect(err).toBeInstanceOf(ConsistencyError)
      expect((err as ConsistencyError).code).toBe('E_CREDENTIALS')
      expect((err as Error).message).toMatch(
        /^site T2_B: its credentials \(XrdSecSSSKT=\/b\.keytab\) differ from those site T2_A/,
      )
      expect(process.env.XrdSecSSSKT).toBe('/a.keytab')
    } finally {
      if (before === undefined) delete process.env.XrdSecSSSKT
      else process.env.XrdSecSSSKT = before
    }
  })
})

describe.skipIf(!canAuthenticate)('a proxy in words', () => {
  it('says when it expires or expired, or that it is absent', () => {
    const grid = makeGrid()
    expect(proxyExpiry(grid.expiredProxy)).toBe(Date.parse('2020-01-02T00:00:00Z') / 1000)
    expect(describeCredentials({ X509_USER_PROXY: grid.expiredProxy })).toBe(
      `proxy ${grid.expiredProxy} (expired 2020-01-02T00:00:00Z)`,
    )
    const expiry = proxyExpiry(grid.proxy) as number
    expect(expiry).toBeGreaterThan(Date.now() / 1000)
    expect(describeCredentials({ X509_USER_PROXY: grid.proxy })).toMatch(/\(valid until \d{4}-\d\d-\d\dT/)
    expect(describeCredentials({ X509_USER_PROXY: '/nonexistent/x509up' })).toBe('proxy /nonexistent/x509up (absent)')
    expect(describeCredentials({ XrdSecSSSKT: '/nonexistent/k' })).toBe('keytab /nonexistent/k (absent)')
    expect(proxyExpiry(grid.certDir)).toBeNull()
  })
})
