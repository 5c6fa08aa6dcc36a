/** Filters, the CMS LFN to dataset rule, site patterns and database URLs. */
import { describe, expect, it } from 'vitest'
import { matchSites, parseMysqlUrl, redact, sitePattern } from '../src/backends'
import { UsageError } from '../src/errors'
import { DatasetFilter, datasetDirectoryOf, datasetOf, Filters, FullFilter, PatternFilter } from '../src/filters'
import { type Lfn, lfnFromBytes, lfnFromText } from '../src/lfn'

describe('CMS LFN to dataset', () => {
  it('maps /store/KIND/ERA/PRIMARY/TIER/PROCESSING/... to /PRIMARY/ERA-PROCESSING/TIER', () => {
    expect(datasetOf('/store/data/Run2018A/SingleMuon/MINIAOD/17Sep2018-v1/20000/0A1B.root')).toBe(
      '/SingleMuon/Run2018A-17Sep2018-v1/MINIAOD',
    )
    expect(datasetOf('/store/mc/RunIISummer20UL18/TTJets_TuneCP5/AODSIM/106X_upgrade2018-v2/10000/x/y.root')).toBe(
      '/TTJets_TuneCP5/RunIISummer20UL18-106X_upgrade2018-v2/AODSIM',
    )
  })

  it('reads the dataset of any LFN of seven parts or more below /store, as the original', () => {
    // the original indexes parts 3 to 6 of the LFN split at `/`; only fewer parts is a parse error
    expect(datasetOf('/store/data/Run2018A/SingleMuon/MINIAOD/17Sep2018-v1')).toBe(
      '/SingleMuon/Run2018A-17Sep2018-v1/MINIAOD',
    )
    expect(datasetOf('/store/mc/short/O3.root')).toBeNull()
    expect(datasetOf('/store/user/x.root')).toBeNull()
    expect(datasetOf('/other/data/a/b/c/d/e.root')).toBeNull()
    expect(datasetOf('relative/store/a/b/c/d/e')).toBeNull()
  })

  it("gives the directory holding a dataset's files", () => {
    expect(datasetDirectoryOf('/store/data/Run2018A/SingleMuon/MINIAOD/17Sep2018-v1/20000/0A1B.root')).toBe(
      '/store/data/Run2018A/SingleMuon/MINIAOD/17Sep2018-v1',
    )
    expect(datasetDirectoryOf('/store/data/Run2018A/SingleMuon/MINIAOD/17Sep2018-v1')).toBeNull()
  })
})

describe('filters', () => {
  const lfn = lfnFromText('/store/data/Run2018A/SingleMuon/MINIAOD/17Sep2018-v1/20000/0A1B.root')
  const text = (s: string) => lfnFromText(s)

  it('PatternFilter vetoes LFNs containing a pattern, and never for an empty pattern', () => {
    expect(new PatternFilter(['/20000/']).protected(lfn)).toBe(true)
    expect(new PatternFilter(['/30000/']).protected(lfn)).toBe(false)
    expect(new PatternFilter(['']).protected(lfn)).toBe(false)
  })

  it('PatternFilter compares bytes: a pattern with a non-ASCII letter matches its UTF-8 bytes only', () => {
    const utf8 = lfnFromText('/store/user/ümlaut/x.root')
    const latin1 = lfnFromBytes(Buffer.from('/store/user/\xfcmlaut/x.root', 'latin1'))
    const f = new PatternFilter(['/ümlaut/'])
    expect(f.protected(utf8)).toBe(true)
    expect(f.protected(latin1)).toBe(false)
  })

  it('FullFilter vetoes exactly its LFNs', () => {
    const f = new FullFilter([lfn])
    expect(f.protected(lfn)).toBe(true)
    expect(f.protected(`${lfn}.bak` as Lfn)).toBe(false)
    expect(f.size).toBe(1)
  })

  it('DatasetFilter vetoes the files of its datasets and every file whose LFN names no dataset', () => {
    const f = new DatasetFilter([text('/SingleMuon/Run2018A-17Sep2018-v1/MINIAOD')])
    expect(f.protected(lfn)).toBe(true)
    expect(f.protected(text(lfn.replace('SingleMuon', 'DoubleMuon')))).toBe(false)
    expect(f.protected(text('/store/user/x.root'))).toBe(true)
    expect(new DatasetFilter().protected(text('/store/mc/short/O3.root'))).toBe(true)
  })

  it('Filters vetoes when any of its filters does', () => {
    const f = new Filters(new FullFilter([text('/a')]))
    expect(f.protected(lfn)).toBe(false)
    f.add(new PatternFilter(['SingleMuon']))
    expect(f.protected(lfn)).toBe(true)
    expect(f.protected(text('/a'))).toBe(true)
  })
})

describe('site patterns', () => {
  it('match whole names', () => {
    const sites = ['T2_US_MIT', 'T2_US_MIT_Disk', 'T1_US_FNAL']
    expect(matchSites(sites, 'T2_US_MIT')).toEqual(['T2_US_MIT'])
    expect(matchSites(sites, 'T2_.*')).toEqual(['T2_US_MIT', 'T2_US_MIT_Disk'])
    expect(matchSites(sites, 'T1_US_FNAL|T2_US_MIT')).toEqual(['T2_US_MIT', 'T1_US_FNAL'])
  })

  it('reject a bad regular expression as bad usage', () => {
    expect(() => sitePattern('T2_(')).toThrow(UsageError)
  })
})

describe('MySQL URLs', () => {
  it('parse host, port, user, password, database and socket', () => {
    expect(parseMysqlUrl('mysql://dynamo:s%40cret@db.example.org:3307/dynamo', 'x')).toEqual({
      user: 'dynamo',
      password: 's@cret',
      host: 'db.example.org',
      port: 3307,
      database: 'dynamo',
    })
    expect(parseMysqlUrl('mysql://root@localhost/consistency?socket=/run/mysqld/mysqld.sock', 'x')).toEqual({
      user: 'root',
      socketPath: '/run/mysqld/mysqld.sock',
      database: 'consistency',
    })
  })

  it('reject other URLs and never show a password', () => {
    expect(() => parseMysqlUrl('postgres://u:p@h/db', 'DynamoDatabase')).toThrow(
      /DynamoDatabase: .* not a mysql:\/\/ URL/,
    )
    expect(() => parseMysqlUrl('not a url', 'SummaryDatabase')).toThrow(/SummaryDatabase: not a URL/)
    expect(redact('mysql://u:secret@h:1/db')).toBe('mysql://u:***@h:1/db')
    // passwords holding `/` or `@`, unencoded: nothing of them shows
    expect(redact('mysql://u:se/cr/et@h:1/db')).toBe('mysql://u:***@h:1/db')
    expect(redact('mysql://u:se@cr@et@h:1/db')).toBe('mysql://u:***@h:1/db')
    expect(redact('mysql://u@h:1/db')).toBe('mysql://u@h:1/db')
    expect(redact('/var/summary.db')).toBe('/var/summary.db')
    try {
      parseMysqlUrl('postgres://u:secret@h/db', 'x')
    } catch (err) {
      expect((err as Error).message).not.toContain('secret')
    }
  })
})
