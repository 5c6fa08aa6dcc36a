/**
 * What `/metrics` gives Prometheus to alert on: each site's MaxMissing and
 * MaxOrphan, and the time since its last good run (one that kept it off
 * red), served and as `web install` writes it.
 */
import * as fs from 'node:fs'
import * as path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { RunStats, SiteSummary } from '../src/summary/types'
import { installWeb } from '../src/web/install'
import { isGoodRun, metricsText } from '../src/web/metrics'
import { startWebServer, type WebServer } from '../src/web/server'
import { tempDir } from './helpers/cli'
import { MemoryReader, run } from './helpers/web'

const NOW = 1_800_000_000
const H = 3600
const DAY = 86_400

function site(name: string, extra: Partial<SiteSummary> = {}): SiteSummary {
  return {
    site: name,
    status: 'ready',
    reporting: 'act',
    runningSince: null,
    last: null,
    maxMissing: 10,
    maxOrphan: 20,
    ...extra,
  }
}

const runs = new Map<string, RunStats[]>([
  // the last run good
  ['T2_GOOD', [run('T2_GOOD', NOW - 3 * DAY, { files: 9, missing: 50 }), run('T2_GOOD', NOW - 2 * H, { files: 9 })]],
  // good two days ago; since then over MaxOrphan, then no files found
  [
    'T2_WENT_BAD',
    [
      run('T2_WENT_BAD', NOW - 2 * DAY, { files: 9, missing: 10, orphan: 20 }),
      run('T2_WENT_BAD', NOW - DAY, { files: 9, orphan: 21 }),
      run('T2_WENT_BAD', NOW - H, { files: 0 }),
    ],
  ],
  // never good: unrecoverable files every time
  [
    'T2_NEVER',
    [
      run('T2_NEVER', NOW - DAY, { files: 9, unrecoverable: 1 }),
      run('T2_NEVER', NOW - H, { files: 9, unlistedBad: 1 }),
    ],
  ],
])
const sites = [
  site('T2_GOOD', { maxMissing: 100 }),
  site('T2_WENT_BAD', { maxOrphan: 20 }),
  site('T2_NEVER'),
  site('T3_NO_RUN', { maxMissing: 7, maxOrphan: 8 }),
]
const reader = new MemoryReader(sites, runs)
let server: WebServer
let dir: string

beforeAll(async () => {
  server = await startWebServer({ reader, port: 0, refresh: 0, now: () => NOW })
  dir = tempDir('metrics')
})

afterAll(async () => {
  await server?.close()
  fs.rmSync(dir, { recursive: true, force: true })
})

/** The samples of one metric: site to value, as Prometheus parses them. */
function samples(text: string, name: string): Map<string, number> {
  const out = new Map<string, number>()
  for (const line of text.split('\n')) {
    const m = new RegExp(`^dynamo_consistency_${name}\\{site="([^"]+)"\\} (\\S+)$`).exec(line)
    if (m) out.set(m[1] as string, m[2] === '+Inf' ? Number.POSITIVE_INFINITY : Number(m[2]))
  }
  return out
}

describe('/metrics for alerting', () => {
  it('gives every site its thresholds, and the seconds since its last good run', async () => {
    const response = await fetch(`${server.url}metrics`)
    expect(response.status).toBe(200)
    const text = await response.text()
    expect(samples(text, 'max_missing_files')).toEqual(
      new Map([
        ['T2_GOOD', 100],
        ['T2_WENT_BAD', 10],
        ['T2_NEVER', 10],
        ['T3_NO_RUN', 7],
      ]),
    )
    expect(samples(text, 'max_orphan_files')).toEqual(
      new Map([
        ['T2_GOOD', 20],
        ['T2_WENT_BAD', 20],
        ['T2_NEVER', 20],
        ['T3_NO_RUN', 8],
      ]),
    )
    // a site without runs has none; one never good is infinitely overdue
    expect(samples(text, 'seconds_since_last_good_run')).toEqual(
      new Map([
        ['T2_GOOD', 2 * H],
        ['T2_WENT_BAD', 2 * DAY],
        ['T2_NEVER', Number.POSITIVE_INFINITY],
      ]),
    )
    expect(samples(text, 'last_good_run_timestamp_seconds')).toEqual(
      new Map([
        ['T2_GOOD', NOW - 2 * H],
        ['T2_WENT_BAD', NOW - 2 * DAY],
      ]),
    )
    // every metric is declared once, as a gauge, before its samples
    for (const name of [
      'max_missing_files',
      'max_orphan_files',
      'last_good_run_timestamp_seconds',
      'seconds_since_last_good_run',
    ]) {
      expect(text.split(`# TYPE dynamo_consistency_${name} gauge\n`)).toHaveLength(2)
      expect(text.indexOf(`# HELP dynamo_consistency_${name} `)).toBeLessThan(
        text.indexOf(`dynamo_consistency_${name}{`),
      )
    }
  })

  it('writes the same into metrics.txt on web install', async () => {
    await installWeb({ reader, dir, now: NOW })
    const written = fs.readFileSync(path.join(dir, 'metrics.txt'), 'utf8')
    expect(written).toBe(await (await fetch(`${server.url}metrics`)).text())
  })

  it('calls good what keeps a site off red, at its own thresholds', () => {
    const s = site('T2_X', { maxMissing: 10, maxOrphan: 20 })
    expect(isGoodRun(s, run('T2_X', NOW, { files: 1, missing: 10, orphan: 20 }))).toBe(true)
    expect(isGoodRun(s, run('T2_X', NOW, { files: 1, missing: 11 }))).toBe(false)
    expect(isGoodRun(s, run('T2_X', NOW, { files: 1, orphan: 21 }))).toBe(false)
    expect(isGoodRun(s, run('T2_X', NOW, { files: 0 }))).toBe(false)
    expect(isGoodRun(s, run('T2_X', NOW, { files: 1, unlisted: 5 }))).toBe(true)
    expect(isGoodRun(s, run('T2_X', NOW, { files: 1, unlisted: 5, unlistedBad: 1 }))).toBe(false)
    // without the history, only a good last run is known
    const text = metricsText([{ ...s, last: run('T2_X', NOW - 60, { files: 0 }) }], NOW)
    expect(samples(text, 'seconds_since_last_good_run').size).toBe(0)
    expect(
      samples(metricsText([{ ...s, last: run('T2_X', NOW - 60, { files: 3 }) }], NOW), 'seconds_since_last_good_run'),
    ).toEqual(new Map([['T2_X', 60]]))
  })
})
