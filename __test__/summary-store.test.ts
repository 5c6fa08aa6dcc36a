/**
 * The findings of the summary store, on SQLite and on a throwaway MariaDB:
 * every run's findings kept and read by run, acted flags, names that are
 * not UTF-8, and streaks of runs.
 */
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { openSql } from '../src/backends/sql'
import { type Lfn, lfnBytes, lfnFromBytes, lfnFromText } from '../src/lfn'
import { type Finding, openSummary, type SummaryStore } from '../src/summary/store'
import { type MariaDb, startMariaDb } from './helpers/mariadb'
import { run as runFigures } from './helpers/web'

const SITE = 'T2_US_MIT'
const OTHER = 'T2_DE_DESY'
const DAY = 86_400
const T0 = 1_700_000_000
const LIMITS = { maxMissing: 1000, maxOrphan: 5000 }
type Eight = [number, number, number, number, number, number, number, number]

const lfn = (text: string): Lfn => lfnFromText(text)
const ascii = (text: string) => [...text].map((c) => c.charCodeAt(0))
/** `/store/mc/x/` then 0xff then `.root`: not UTF-8. */
const NOT_UTF8 = Buffer.from([...ascii('/store/mc/x/'), 0xff, ...ascii('.root')])
/** `/store/mc/x/\xef\xbf\xbd.root`: U+FFFD, what 0xff becomes when decoded as UTF-8. */
const LOOK_ALIKE = Buffer.from([...ascii('/store/mc/x/'), 0xef, 0xbf, 0xbd, ...ascii('.root')])

/** A run's figures (nothing found: the findings are what the tests look at). */
const stats = (site: string, time: number) => runFigures(site, time, { files: 10, nodes: 3, duration: 1.5 })

let server: MariaDb | undefined
let tmp: string

beforeAll(async () => {
  server = await startMariaDb()
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'dc-summary-store-'))
})

afterAll(async () => {
  await server?.stop()
  fs.rmSync(tmp, { recursive: true, force: true })
})

const databases: [string, () => string][] = [
  ['SQLite', () => path.join(tmp, `summary-${Math.random().toString(36).slice(2)}.db`)],
  [
    'MariaDB',
    () => {
      const s = server as MariaDb
      const name = s.db('summary_store')
      s.sql(`DROP DATABASE IF EXISTS \`${name}\`; CREATE DATABASE \`${name}\``)
      return `${s.url}/${name}`
    },
  ],
]

describe.each(databases)('summary store findings on %s', (_, location) => {
  let where: string
  let store: SummaryStore
  let time: number

  beforeEach(async () => {
    where = location()
    store = await openSummary(where)
    time = T0
  })

  afterEach(async () => {
    await store.close()
  })

  /** Record a run of `site` one day after the previous one. */
  async function run(site: string, findings: Parameters<SummaryStore['recordRun']>[2]): Promise<number> {
    time += DAY
    return store.recordRun(stats(site, time), time - 100, findings, LIMITS)
  }

  it('keeps LFNs of any length a file system allows (4096 bytes), and finds them again', async () => {
    const long = lfn(`/store/user/${'d'.repeat(200)}/`.repeat(19) + 'x'.repeat(200))
    const longer = lfn(`${long}y`)
    expect(lfnBytes(long).length).toBeGreaterThan(4000)
    const first = await run(SITE, {
      orphan: [
        { lfn: long, size: 1 },
        { lfn: longer, size: 2 },
      ],
    })
    const second = await run(SITE, { orphan: [{ lfn: long, size: 1 }] })
    expect(await store.findings(SITE, 'orphan', first)).toEqual([
      { lfn: long, size: 1, acted: null },
      { lfn: longer, size: 2, acted: null },
    ])
    const streaks = await store.streaks(SITE, 'orphan', second, [{ lfn: long, size: 1 }])
    expect(streaks.get(long)?.runs).toBe(2)
    expect(await store.markActed(SITE, second, 'orphan', [long])).toBe(1)
    expect((await store.findings(SITE, 'orphan'))[0]?.acted).not.toBeNull()
  })

  it("keeps every run's findings, dry sites included, and reads them by run", async () => {
    await store.addSites([SITE, OTHER])
    expect((await store.status(SITE))?.reporting).toBe('dry')
    expect(await store.lastRun(SITE)).toBeNull()
    expect(await store.findings(SITE, 'missing')).toEqual([])
    const a = lfn('/store/mc/a.root')
    const b = lfn('/store/mc/b.root')
    const c = lfn('/store/data/c.root')
    const dir = lfn('/store/mc/empty/dir')
    const first = await run(SITE, {
      missing: [
        { lfn: b, size: 20 },
        { lfn: a, size: 10 },
      ],
      orphan: [{ lfn: c, size: 30 }],
      empty: [{ lfn: dir }],
      size_mismatch: [{ lfn: a, size: 11, inventorySize: 10 }],
      unmerged: [{ lfn: lfn('/store/unmerged/u.root'), size: -1 }],
    })
    const other = await run(OTHER, { missing: [{ lfn: c, size: 30 }] })
    const second = await run(SITE, { missing: [{ lfn: b, size: 20 }], orphan: [] })
    expect(await store.lastRun(SITE)).toEqual({ id: second, time })
    expect(await store.lastRun(OTHER)).toEqual({ id: other, time: time - DAY })

    // the latest run by default, any run by id, sorted by bytes
    expect(await store.findings(SITE, 'missing')).toEqual([{ lfn: b, size: 20, acted: null }])
    expect(await store.findings(SITE, 'missing', first)).toEqual([
      { lfn: a, size: 10, acted: null },
      { lfn: b, size: 20, acted: null },
    ])
    expect(await store.findings(SITE, 'orphan')).toEqual([])
    expect(await store.findings(SITE, 'orphan', first)).toEqual([{ lfn: c, size: 30, acted: null }])
    expect(await store.findings(SITE, 'empty', first)).toEqual([{ lfn: dir, acted: null }])
    expect(await store.findings(SITE, 'size_mismatch', first)).toEqual([
      { lfn: a, size: 11, inventorySize: 10, acted: null },
    ])
    // an unknown size is no size
    expect(await store.findings(SITE, 'unmerged', first)).toEqual([{ lfn: lfn('/store/unmerged/u.root'), acted: null }])
    // a run of another site holds nothing of this one
    expect(await store.findings(SITE, 'missing', other)).toEqual([])
    expect(await store.findings(OTHER, 'missing')).toEqual([{ lfn: c, size: 30, acted: null }])
    expect((await store.history(SITE)).map((h) => h.time)).toEqual([T0 + DAY, T0 + 3 * DAY])
    await expect(store.findings(SITE, 'dark' as never)).rejects.toThrow(/not a kind of finding: dark/)
  })

  it('writes a run and its findings all or nothing', async () => {
    const a = lfn('/store/mc/a.root')
    let calls = 0
    await expect(
      store.recordRun(
        stats(SITE, T0),
        T0 - 100,
        { missing: [{ lfn: a, size: 1 }], orphan: [{ lfn: a, size: 2 }] },
        LIMITS,
        async () => {
          calls++
          if (calls === 2) throw new Error('the database went away')
        },
      ),
    ).rejects.toThrow(/went away/)
    expect(calls).toBe(2)
    expect(await store.lastRun(SITE)).toBeNull()
    expect(await store.history(SITE)).toEqual([])
    // a kind the store does not know is refused before anything is written
    await expect(store.recordRun(stats(SITE, T0), T0, { dark: [] } as never, LIMITS)).rejects.toThrow(
      /not a kind of finding/,
    )
    expect(await store.lastRun(SITE)).toBeNull()
  })

  it('marks findings acted on, run by run, and lists them oldest first', async () => {
    const a = lfn('/store/mc/a.root')
    const b = lfn('/store/mc/b.root')
    const c = lfn('/store/mc/c.root')
    const first = await run(SITE, { missing: [{ lfn: a }, { lfn: b }, { lfn: c }], orphan: [{ lfn: a, size: 5 }] })
    const second = await run(SITE, { missing: [{ lfn: a }, { lfn: b }, { lfn: c }] })

    expect(await store.markActed(SITE, first, 'missing', [b], T0 + 10)).toBe(1)
    // marked once: a second mark keeps the first time
    expect(await store.markActed(SITE, first, 'missing', [b, c], T0 + 20)).toBe(1)
    // another site, another kind, another run: nothing of those
    expect(await store.markActed(OTHER, first, 'missing', [a], T0 + 30)).toBe(0)
    expect(await store.markActed(SITE, second, 'orphan', [a], T0 + 30)).toBe(0)
    // all of a run's findings of a kind
    expect(await store.markActed(SITE, second, 'missing', undefined, T0 + 40)).toBe(3)
    expect(await store.markActed(SITE, first, 'orphan', undefined, T0 + 5)).toBe(1)

    expect(await store.findings(SITE, 'missing', first)).toEqual([
      { lfn: a, acted: null },
      { lfn: b, acted: T0 + 10 },
      { lfn: c, acted: T0 + 20 },
    ])
    expect((await store.findings(SITE, 'missing')).map((f) => f.acted)).toEqual([T0 + 40, T0 + 40, T0 + 40])
    expect(await store.actedFindings(SITE, 'missing')).toEqual([
      { lfn: b, acted: T0 + 10, runId: first },
      { lfn: c, acted: T0 + 20, runId: first },
      { lfn: a, acted: T0 + 40, runId: second },
      { lfn: b, acted: T0 + 40, runId: second },
      { lfn: c, acted: T0 + 40, runId: second },
    ])
    expect(await store.actedFindings(SITE, 'orphan')).toEqual([{ lfn: a, size: 5, acted: T0 + 5, runId: first }])
    expect(await store.actedFindings(OTHER, 'missing')).toEqual([])

    // more LFNs than one statement takes
    const many = Array.from({ length: 1234 }, (_, i) => lfn(`/store/mc/many/${String(i).padStart(5, '0')}.root`))
    const third = await run(SITE, { orphan: many.map((l) => ({ lfn: l, size: 1 })) })
    expect(await store.markActed(SITE, third, 'orphan', [...many.slice(0, 1100), many[0] as Lfn])).toBe(1100)
    expect((await store.findings(SITE, 'orphan')).filter((f) => f.acted === null).length).toBe(134)
  })

  it('keeps a name that is not UTF-8 apart from its look-alike, byte for byte', async () => {
    const bad = lfnFromBytes(NOT_UTF8)
    const alike = lfnFromBytes(LOOK_ALIKE)
    expect(bad).not.toBe(alike)
    const first = await run(SITE, {
      orphan: [
        { lfn: bad, size: 1 },
        { lfn: alike, size: 2 },
      ],
      empty: [{ lfn: lfnFromBytes(Buffer.concat([NOT_UTF8, Buffer.from('/dir')])) }],
    })
    const found = await store.findings(SITE, 'orphan')
    expect(found).toHaveLength(2)
    const bySize = new Map(found.map((f) => [f.size, f]))
    expect(lfnBytes((bySize.get(1) as Finding).lfn).equals(NOT_UTF8)).toBe(true)
    expect(lfnBytes((bySize.get(2) as Finding).lfn).equals(LOOK_ALIKE)).toBe(true)
    // sorted by bytes: 0xef before 0xff
    expect(found.map((f) => f.lfn)).toEqual([alike, bad])
    // the column holds the bytes themselves
    const hex = await store.db.all<{ h: string }>(
      `SELECT HEX(lfn) AS h FROM findings WHERE kind = 'orphan' ORDER BY lfn`,
    )
    expect(hex.map((r) => String(r.h))).toEqual([LOOK_ALIKE, NOT_UTF8].map((b) => b.toString('hex').toUpperCase()))
    const [dir] = await store.findings(SITE, 'empty')
    expect(lfnBytes((dir as Finding).lfn).equals(Buffer.concat([NOT_UTF8, Buffer.from('/dir')]))).toBe(true)

    // marking one marks only that one
    expect(await store.markActed(SITE, first, 'orphan', [bad], T0 + 1)).toBe(1)
    const acted = await store.actedFindings(SITE, 'orphan')
    expect(acted).toHaveLength(1)
    expect(lfnBytes((acted[0] as Finding).lfn).equals(NOT_UTF8)).toBe(true)
    expect(acted[0]?.size).toBe(1)

    // and streaks tell them apart
    const second = await run(SITE, { orphan: [{ lfn: bad, size: 1 }] })
    const streaks = await store.streaks(SITE, 'orphan', second, [{ lfn: bad }, { lfn: alike }])
    expect(streaks.get(bad)).toEqual({ runs: 2, since: T0 + DAY })
    expect(streaks.has(alike)).toBe(false)
  })

  it('counts streaks: runs in a row with the same sizes, and when they began', async () => {
    const x = lfn('/store/mc/x.root')
    const y = lfn('/store/mc/y.root')
    const z = lfn('/store/mc/z.root')
    const w = lfn('/store/mc/w.root')
    const o = (l: Lfn, size: number): Finding => ({ lfn: l, size })
    const ids: number[] = []
    const times: number[] = []
    const runs: Parameters<SummaryStore['recordRun']>[2][] = [
      { orphan: [o(x, 1), o(y, 10), o(z, 3), o(w, 4)] },
      { orphan: [o(x, 1), o(y, 10), o(w, 4)] },
      // x: a gap; y: another size
      { orphan: [o(y, 20), o(w, 4)] },
      { orphan: [o(x, 1), o(y, 20), o(w, 4)] },
      // w as missing, not as orphan
      { orphan: [o(x, 1), o(y, 20)], missing: [o(w, 4)] },
      { orphan: [o(x, 1), o(y, 20), o(w, 4)] },
      // no orphans recorded at all
      { missing: [o(x, 1)] },
      { orphan: [o(x, 1), o(y, 20), o(w, 4)] },
    ]
    for (const [i, findings] of runs.entries()) {
      ids.push(await run(SITE, findings))
      times.push(time)
      // other sites' runs in between break nothing
      if (i % 2 === 0) await run(OTHER, { orphan: [o(x, 1), o(y, 20), o(w, 4)] })
    }
    const [r1, r2, , r4, , r6, , r8] = ids as Eight
    const [t1, t2, t3, t4] = times as Eight

    const at6 = await store.streaks(SITE, 'orphan', r6, [o(x, 1), o(y, 20), { lfn: z }, { lfn: w }])
    // a gap breaks a streak: x in runs 4 to 6
    expect(at6.get(x)).toEqual({ runs: 3, since: t4 })
    // a different size breaks it: y of size 20 from run 3 on
    expect(at6.get(y)).toEqual({ runs: 4, since: t3 })
    // a finding of another kind is not one of this kind
    expect(at6.get(w)).toEqual({ runs: 1, since: times[5] })
    // not in run 6: no streak
    expect(at6.has(z)).toBe(false)
    expect(at6.size).toBe(3)
    // an undefined size matches any
    expect((await store.streaks(SITE, 'orphan', r6, [{ lfn: y }])).get(y)).toEqual({ runs: 6, since: t1 })
    // a run with no findings of the kind breaks every streak
    const at8 = await store.streaks(SITE, 'orphan', r8, [{ lfn: x }, { lfn: y }, { lfn: w }])
    expect([...at8.values()]).toEqual([1, 1, 1].map((runs) => ({ runs, since: times[7] })))
    // in run 2: the sizes of runs 1 and 2, and the first candidate of an LFN counts
    const at2 = await store.streaks(SITE, 'orphan', r2, [o(x, 1), o(y, 10), o(y, 20), o(z, 3)])
    expect(at2).toEqual(
      new Map([
        [x, { runs: 2, since: t1 }],
        [y, { runs: 2, since: t1 }],
      ]),
    )
    expect((await store.streaks(SITE, 'orphan', r2, [o(x, 2)])).size).toBe(0)
    expect((await store.streaks(SITE, 'orphan', r4, [{ lfn: w }])).get(w)).toEqual({ runs: 4, since: t1 })

    // enough: two runs, the first of them ended `days` days before `now` (runs end two days apart here)
    const twoDays = await store.streaks(SITE, 'orphan', r4, [{ lfn: w }], {
      runs: 2,
      days: 2,
      now: t4,
    })
    expect(twoDays.get(w)).toEqual({ runs: 2, since: t3 })
    const threeDays = await store.streaks(SITE, 'orphan', r4, [{ lfn: w }], {
      runs: 2,
      days: 3,
      now: t4,
    })
    expect(threeDays.get(w)).toEqual({ runs: 3, since: t2 })
    const fiveRuns = await store.streaks(SITE, 'orphan', r4, [{ lfn: w }], {
      runs: 5,
      days: 0,
      now: t4,
    })
    expect(fiveRuns.get(w)).toEqual({ runs: 4, since: t1 })

    // a run of another site, or no run at all: no streaks
    const otherRun = (await store.lastRun(OTHER))?.id as number
    expect((await store.streaks(SITE, 'orphan', otherRun, [{ lfn: x }])).size).toBe(0)
    expect((await store.streaks(SITE, 'orphan', r8 + 1000, [{ lfn: x }])).size).toBe(0)
    expect((await store.streaks(SITE, 'orphan', r1, [])).size).toBe(0)
  })

  it('follows many candidates over many runs', async () => {
    const many = Array.from({ length: 1200 }, (_, i) => lfn(`/store/mc/s/${String(i).padStart(5, '0')}.root`))
    const ids: number[] = []
    // run k (from 0) holds the first 1200 - 30k of them
    for (let k = 0; k < 40; k++) {
      ids.push(await run(SITE, { orphan: many.slice(0, 1200 - 30 * k).map((l) => ({ lfn: l, size: 7 })) }))
    }
    const first = await store.streaks(
      SITE,
      'orphan',
      ids[0] as number,
      many.map((l) => ({ lfn: l, size: 7 })),
    )
    expect(first.size).toBe(1200)
    expect(first.get(many[1199] as Lfn)).toEqual({ runs: 1, since: T0 + DAY })
    const mid = await store.streaks(
      SITE,
      'orphan',
      ids[19] as number,
      many.map((l) => ({ lfn: l })),
    )
    expect(mid.size).toBe(630)
    expect(mid.get(many[629] as Lfn)).toEqual({ runs: 20, since: T0 + DAY })
    const last = await store.streaks(
      SITE,
      'orphan',
      ids[39] as number,
      many.map((l) => ({ lfn: l })),
    )
    expect(last.size).toBe(30)
    expect(last.get(many[29] as Lfn)).toEqual({ runs: 40, since: T0 + DAY })
  })

  it('forgets old findings nobody acted on, and keeps those acted on', async () => {
    const a = lfn('/store/mc/a.root')
    const b = lfn('/store/mc/b.root')
    const r1 = await run(SITE, { orphan: [{ lfn: a }, { lfn: b }] })
    await store.markActed(SITE, r1, 'orphan', [a], T0)
    const r2 = await run(SITE, { orphan: [{ lfn: a }, { lfn: b }] })
    const r3 = await run(SITE, { orphan: [{ lfn: a }, { lfn: b }] })
    await run(OTHER, { orphan: [{ lfn: a }] })
    await expect(store.pruneFindings(SITE, 0)).rejects.toThrow(RangeError)
    expect(await store.pruneFindings(SITE, 5)).toBe(0)
    expect(await store.pruneFindings(SITE, 2)).toBe(1)
    expect(await store.findings(SITE, 'orphan', r1)).toEqual([{ lfn: a, acted: T0 }])
    expect((await store.findings(SITE, 'orphan', r2)).length).toBe(2)
    expect((await store.findings(SITE, 'orphan', r3)).length).toBe(2)
    expect((await store.findings(OTHER, 'orphan')).length).toBe(1)
    expect((await store.streaks(SITE, 'orphan', r3, [{ lfn: b }])).get(b)?.runs).toBe(2)
  })

  it('leaves the tables of earlier versions untouched', async () => {
    await store.close()
    // a database made by an earlier version: findings in `invalid`, acted ones in `invalid_history`
    const old = where.startsWith('mysql:') ? 'VARCHAR(700)' : 'TEXT'
    const db = openSql(where)
    try {
      await db.run(`CREATE TABLE invalid (site VARCHAR(64) NOT NULL, lfn ${old} NOT NULL, size BIGINT NULL)`)
      await db.run(`INSERT INTO invalid (site, lfn, size) VALUES (?, ?, ?)`, [SITE, '/store/mc/old.root', 1])
    } finally {
      await db.close()
    }
    store = await openSummary(where)
    await run(SITE, { missing: [{ lfn: lfn('/store/mc/new.root') }] })
    expect((await store.findings(SITE, 'missing')).map((f) => f.lfn)).toEqual([lfn('/store/mc/new.root')])
    const rows = await store.db.all('SELECT site, lfn, size FROM invalid')
    expect(rows.map((r) => [r.site, String(r.lfn), Number(r.size)])).toEqual([[SITE, '/store/mc/old.root', 1]])
    // and none of the old tables is made any more
    const tables = where.startsWith('mysql:')
      ? await store.db.all<{ name: string }>(
          'SELECT table_name AS name FROM information_schema.tables WHERE table_schema = DATABASE()',
        )
      : await store.db.all<{ name: string }>(`SELECT name FROM sqlite_master WHERE type = 'table'`)
    expect(
      tables
        .map((t) => String(t.name))
        .filter((t) => !t.startsWith('sqlite_'))
        .sort(),
    ).toEqual(['findings', 'invalid', 'site_runs', 'site_status'])
  })
})
