/**
 * The web page's rules on their own, from an in-memory summary store: the
 * colour of every state, escaping, the metrics text, the file names of
 * sites, the server's answers to odd requests. (The page as a whole, on a
 * store filled by check runs, is tested in Chromium by web.test.ts.)
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { SiteSummary } from '../src/summary/types'
import { formatCount, formatDuration, formatTB } from '../src/web/format'
import { escapeHtml, jsonForScript, siteFileName, siteFromFileName } from '../src/web/html'
import { escapeLabel, metricsText } from '../src/web/metrics'
import { startWebServer, type WebServer } from '../src/web/server'
import { sitePage } from '../src/web/site-page'
import { DAY, siteState } from '../src/web/state'
import { summaryPage } from '../src/web/summary-page'
import { cli } from './helpers/cli'
import { MemoryReader, run } from './helpers/web'

const NOW = 1_800_000_000
const H = 3600

function site(name: string, extra: Partial<SiteSummary> = {}): SiteSummary {
  return {
    site: name,
    status: 'ready',
    reporting: 'dry',
    runningSince: null,
    last: run(name, NOW - H, { files: 100 }),
    maxMissing: 10,
    maxOrphan: 20,
    ...extra,
  }
}

describe('site colours', () => {
  const cases: [string, SiteSummary, string][] = [
    ['a run within 24 h', site('A'), 'green'],
    ['a run over 24 h ago', site('A', { last: run('A', NOW - DAY - 1, { files: 5 }) }), 'none'],
    ['no run at all', site('A', { last: null }), 'none'],
    ['running under 24 h', site('A', { status: 'running', runningSince: NOW - 2 * H }), 'green'],
    ['running over 24 h', site('A', { status: 'running', runningSince: NOW - DAY - H }), 'yellow'],
    ['queued', site('A', { status: 'locked', runningSince: NOW - 60 }), 'blue'],
    ['disabled', site('A', { status: 'disabled' }), 'grey'],
    ['halted', site('A', { status: 'halt' }), 'grey'],
    ['zero files', site('A', { last: run('A', NOW - H, { files: 0 }) }), 'red'],
    ['missing over MaxMissing', site('A', { last: run('A', NOW - H, { files: 1, missing: 11 }) }), 'red'],
    ['missing at MaxMissing', site('A', { last: run('A', NOW - H, { files: 1, missing: 10 }) }), 'green'],
    ['orphans over MaxOrphan', site('A', { last: run('A', NOW - H, { files: 1, orphan: 21 }) }), 'red'],
    ['an unrecoverable file', site('A', { last: run('A', NOW - H, { files: 1, unrecoverable: 1 }) }), 'red'],
    [
      'unlisted with an error',
      site('A', { last: run('A', NOW - H, { files: 1, unlisted: 2, unlistedBad: 1 }) }),
      'red',
    ],
    ['unlisted by timeouts only', site('A', { last: run('A', NOW - H, { files: 1, unlisted: 2 }) }), 'green'],
    ['red figures, halted', site('A', { status: 'halt', last: run('A', NOW - H, { files: 0 }) }), 'grey'],
    [
      'red figures, running over 24 h',
      site('A', { status: 'running', runningSince: NOW - 2 * DAY, last: run('A', NOW - 3 * DAY) }),
      'red',
    ],
  ]
  for (const [what, summary, colour] of cases) {
    it(what, () => {
      expect(siteState(summary, NOW).colour).toBe(colour)
      // the page's row has it
      const html = summaryPage([summary], { now: NOW, refresh: 60 })
      expect(html).toContain(`<tbody class="site ${colour}"`)
    })
  }

  it('says when a green turns, so a static page can turn it', () => {
    const fresh = siteState(site('A'), NOW)
    expect(fresh.until).toBe(NOW - H + DAY)
    expect(fresh.then).toBe('none')
    const running = siteState(site('A', { status: 'running', runningSince: NOW - H }), NOW)
    expect(running.until).toBe(NOW - H + DAY)
    expect(running.then).toBe('yellow')
    expect(siteState(site('A', { status: 'running', runningSince: NOW - H }), running.until as number).colour).toBe(
      'yellow',
    )
  })

  it('names the reasons of a red site', () => {
    const s = site('A', {
      last: run('A', NOW, { files: 0, missing: 11, orphan: 21, unrecoverable: 3, unlistedBad: 2 }),
    })
    const state = siteState(s, NOW)
    expect(state.problems).toEqual(['files', 'missing', 'orphan', 'unrecoverable', 'unlisted'])
    expect(state.reasons.join('; ')).toContain('11 missing files exceed MaxMissing 10')
  })
})

describe('escaping', () => {
  const odd = `<img src=x onerror="alert('x')">&\\ "quoted"\nnext`

  it('escapes HTML and keeps JSON inside a script element', () => {
    expect(escapeHtml(odd)).not.toMatch(/[<>"']/)
    const json = jsonForScript({ name: '</script><script>alert(1)</script>' })
    expect(json).not.toContain('</script')
    expect(JSON.parse(json)).toEqual({ name: '</script><script>alert(1)</script>' })
  })

  it('writes no markup of a site name or a held-back reason', () => {
    const s = site(odd, { last: run(odd, NOW, { files: 1, heldBack: '<b>held</b>' }) })
    for (const html of [
      summaryPage([s], { now: NOW, refresh: 60 }),
      sitePage(s, [s.last as never], { now: NOW, refresh: 60 }),
    ]) {
      expect(html).not.toContain('<img')
      expect(html).not.toContain('<b>held')
      expect(html).toContain(escapeHtml(odd))
    }
  })

  it('escapes Prometheus label values', () => {
    expect(escapeLabel('a"b\\c\nd')).toBe('a\\"b\\\\c\\nd')
    const text = metricsText([site(odd)], NOW)
    const line = text.split('\n').find((l) => l.startsWith('dynamo_consistency_files{'))
    expect(line).toBe(`dynamo_consistency_files{site="${escapeLabel(odd)}"} 100`)
    // every sample line parses as name{labels} value
    for (const l of text.split('\n').filter((x) => x && !x.startsWith('#'))) {
      expect(l).toMatch(/^[a-z_]+\{site="(?:[^"\\\n]|\\["\\n])*"(?:,[a-z]+="[a-z]+")*\} -?[0-9.e+]+$/)
    }
  })

  it('gives every site a file name that maps back to it and stays in its directory', () => {
    for (const name of ['T2_US_MIT', odd, '..', '.hidden', 'a/b', 'é', '%41', '']) {
      const file = siteFileName(name)
      expect(file).toMatch(/^(?:[A-Za-z0-9_.-]|%[0-9A-F]{2})+$/)
      expect(file.startsWith('.')).toBe(false)
      expect(file).not.toContain('/')
      if (name !== '') expect(siteFromFileName(file)).toBe(name)
    }
    expect(siteFileName('T2_US_MIT')).toBe('T2_US_MIT')
    expect(siteFromFileName('%2e%2e')).toBeNull()
    expect(siteFromFileName('../x')).toBeNull()
  })
})

describe('figures', () => {
  it('formats counts, sizes and durations', () => {
    expect(formatCount(1234567)).toBe('1,234,567')
    expect(formatTB(0)).toBe('0')
    expect(formatTB(5e9)).toBe('<0.01')
    expect(formatTB(2.345e12)).toBe('2.35')
    expect(formatDuration(0.42)).toBe('0.4 s')
    expect(formatDuration(59)).toBe('0:59')
    expect(formatDuration(3 * H + 61)).toBe('3:01:01')
    expect(formatDuration(DAY + 2 * H)).toBe('1d 2:00:00')
  })
})

describe('the server', () => {
  const runs = [run('T2_A', NOW - 2 * DAY, { files: 5 }), run('T2_A', NOW - H, { files: 7, missing: 1 })]
  const reader = new MemoryReader(
    [site('T2_A', { last: null }), site('T2_B', { reporting: 'act' })],
    new Map([['T2_A', runs]]),
  )
  let server: WebServer

  beforeAll(async () => {
    server = await startWebServer({ reader, port: 0, now: () => NOW })
  })
  afterAll(async () => {
    await server.close()
  })

  const get = async (p: string, init?: RequestInit) => {
    const r = await fetch(new URL(p, server.url), init)
    return { status: r.status, headers: r.headers, body: await r.text() }
  }

  it('listens on the loopback address by default', () => {
    expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/)
  })

  it('serves the pages with a security policy', async () => {
    const index = await get('/')
    expect(index.status).toBe(200)
    expect(index.headers.get('content-security-policy')).toContain("script-src 'self'")
    expect(index.headers.get('x-content-type-options')).toBe('nosniff')
    expect(index.body).toContain('data-site="T2_A"')
    expect((await get('/index.html')).body).toBe(index.body)
    expect((await get('/sites/T2_A.html')).body).toContain('<h1 id="site-name">T2_A</h1>')
    expect((await get('/sites/T2_NONE.html')).status).toBe(404)
  })

  it('answers the history in both spellings, oldest first', async () => {
    const a = JSON.parse((await get('/api/sites/T2_A/history')).body)
    expect(a.runs).toEqual(runs)
    expect(JSON.parse((await get('/api/sites/T2_A/history.json')).body)).toEqual(a)
    const sites = JSON.parse((await get('/api/sites')).body)
    expect(sites.sites.map((s: { site: string; last: unknown }) => [s.site, s.last])).toEqual([
      ['T2_A', runs[1]],
      ['T2_B', (await reader.sites())[1]?.last],
    ])
    expect(sites.time).toBe(NOW)
  })

  it('serves its assets and uPlot from the package', async () => {
    for (const name of ['style.css', 'summary.js', 'site.js', 'common.js', 'uPlot.iife.min.js', 'uPlot.min.css']) {
      const r = await get(`/assets/${name}`)
      expect(r.status, name).toBe(200)
      expect(r.body.length, name).toBeGreaterThan(100)
    }
    expect((await get('/assets/nothing.js')).status).toBe(404)
  })

  it('refuses writes, odd paths and files outside its lists', async () => {
    for (const method of ['POST', 'PUT', 'DELETE']) {
      const r = await get('/', { method })
      expect(r.status, method).toBe(405)
      expect(r.headers.get('allow')).toBe('GET, HEAD')
    }
    for (const p of [
      '/%E0%A4%A',
      '/../../etc/passwd',
      '/config.txt',
      '/T2_A_compare_missing.txt.bak',
      '/.T2_compare_missing.txt',
      '/logs/..%2Fx.log',
    ]) {
      expect([400, 404], p).toContain((await get(p)).status)
    }
    const head = await fetch(server.url, { method: 'HEAD' })
    expect(head.status).toBe(200)
    expect(await head.text()).toBe('')
  })
})

describe('the web command', () => {
  it('says what is wrong with its usage, with exit code 2', () => {
    for (const [args, message] of [
      [['web'], /web needs serve or install/],
      [['web', 'publish'], /web needs serve or install/],
      [['web', 'serve', 'extra'], /unexpected argument extra/],
      [['web', 'serve', '--dir', 'x'], /--dir is for web install/],
      [['web', 'install', '--port', '1'], /--port is for web serve/],
      [['web', 'serve', '--port', '70000'], /--port must be a whole number from 0 to 65535, not 70000/],
      [['web', 'serve', '--port', 'x'], /--port must be a whole number/],
      [['web', 'serve', '--refresh', '-1'], /--refresh must be a number from 0 to 86400, not -1/],
      [['web', 'serve', '--refresh', '1e300'], /--refresh must be a number from 0 to 86400, not 1e300/],
    ] as const) {
      const r = cli([...args])
      expect(r.code, args.join(' ')).toBe(2)
      expect(r.stderr, args.join(' ')).toMatch(message)
    }
    const help = cli(['web', '--help'])
    expect(help.code).toBe(0)
    expect(help.stdout).toContain('web install')
  })
})
