/**
 * The command line as an operator meets it at a terminal or in cron:
 * site names checked before a site is made, progress that fits the
 * terminal, versions, help, JSON summaries, shell completion, and a
 * confirmation before the registry is written to. Real CLI runs of the
 * built program on the embedded SQLite inventory and summary store.
 */
import { spawnSync } from 'node:child_process'
import * as fs from 'node:fs'
import * as path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { openEmbeddedDatabase, type SqliteSql } from '../src/backends'
import { helpOptions } from '../src/cli/completion'
import { progressLine, progressReporter } from '../src/cli/progress'
import { config } from '../src/config'
import { lfnForDisplay } from '../src/lfn'
import { nativeVersion, platformName } from '../src/native'
import { openSummary } from '../src/summary/store'
import { plural } from '../src/words'
import { insertReplicas, inventoryRows, makeSite, SITE, type SiteSetup } from './helpers/check-site'
import { CLI, cli, lines, ROOT, tempDir, writeFile } from './helpers/cli'
import { have } from './helpers/xrootd-server'

const VERSION: string = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')).version
const COMMANDS = [
  'check',
  'compare',
  'list',
  'set-status',
  'invalidate',
  'dump-tree',
  'import-inventory',
  'web',
  'completion',
]

let site: SiteSetup
let db: SqliteSql
/** The `check --json` of the site's one run. */
let checkJson: Record<string, unknown> & {
  missing: { count: number; size: number; file: string }
  orphan: { count: number; size: number; file: string }
}

/** One line on standard error, naming the cause, and nothing on standard output. */
function oneLine(r: { stdout: string; stderr: string }, cause: RegExp): void {
  expect(r.stderr.trim().split('\n')).toHaveLength(1)
  expect(r.stderr).toMatch(cause)
  expect(r.stderr).not.toMatch(/\n\s+at /)
  expect(r.stdout).toBe('')
}

/**
 * Run the CLI on a terminal (a pseudo-terminal of util-linux `script`)
 * `columns` wide, typing `input`. Returns what the terminal showed.
 */
function onTerminal(args: string[], columns: number, input = ''): { code: number; screen: string } {
  const quoted = [process.execPath, CLI, ...args].map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ')
  const r = spawnSync('script', ['-qec', `stty cols ${columns}; ${quoted}`, '/dev/null'], {
    input,
    encoding: 'utf8',
    cwd: ROOT,
  })
  return { code: r.status ?? -1, screen: r.stdout }
}

async function localInvalidations(): Promise<string[]> {
  const rows = await db.all<{ lfn: Buffer | string }>('SELECT lfn FROM local_invalidations WHERE site = ?', [SITE])
  return rows.map((r) => String(r.lfn)).sort()
}

async function unactedMissing(): Promise<string[]> {
  const store = await openSummary()
  try {
    return (await store.findings(SITE, 'missing'))
      .filter((f) => f.acted === null)
      .map((f) => lfnForDisplay(f.lfn))
      .sort()
  } finally {
    await store.close()
  }
}

beforeAll(async () => {
  site = makeSite('operator')
  config.setLocation(site.config)
  db = openEmbeddedDatabase()
  await db.transaction(async (tx) => {
    for (const name of [SITE, 'T1_US_FNAL_Disk', 'T1_US_FNAL_MSS', 'T2_DE_DESY']) {
      await tx.run(`INSERT INTO sites (name, storage_type) VALUES (?, 'disk')`, [name])
    }
    await insertReplicas(tx, inventoryRows())
  })
  const r = cli(['check', '--site', SITE, '--config', site.config, '--quiet', '--json'])
  expect(r.code, r.stderr).toBe(0)
  expect(r.stdout.trim().split('\n')).toHaveLength(1)
  checkJson = JSON.parse(r.stdout)
}, 60_000)

afterAll(async () => {
  await db?.close()
  config.setLocation(null)
  fs.rmSync(site.dir, { recursive: true, force: true })
})

describe('set-status', () => {
  it('refuses a site the summary store does not know, and makes nothing', async () => {
    const r = cli(['set-status', 'T9_NOPE', 'ready', '--config', site.config])
    expect(r.code).toBe(2)
    oneLine(r, /unknown site T9_NOPE .*--create/)
    const store = await openSummary()
    try {
      expect(await store.status('T9_NOPE')).toBeNull()
      expect((await store.sites()).map((s) => s.site)).not.toContain('T9_NOPE')
    } finally {
      await store.close()
    }
  })

  it('adds a new site with --create, and sets a known one without it', async () => {
    const created = cli(['set-status', 'T3_CH_New', 'act', '--create', '--config', site.config])
    expect(created.code, created.stderr).toBe(0)
    expect(created.stdout.trim()).toBe('T3_CH_New: ready act')
    const again = cli(['set-status', 'T3_CH_New', 'halt', '--config', site.config])
    expect(again.code, again.stderr).toBe(0)
    expect(again.stdout.trim()).toBe('T3_CH_New: halt act')
    // a site of the summary store, and one of the inventory not checked yet
    const known = cli(['set-status', 'T1_US_FNAL_Disk', 'disable', '--config', site.config])
    expect(known.code, known.stderr).toBe(0)
    await db.run(`INSERT INTO sites (name, storage_type) VALUES ('T2_BR_SPRACE', 'disk')`)
    const inventoried = cli(['set-status', 'T2_BR_SPRACE', 'dry', '--config', site.config])
    expect(inventoried.code, inventoried.stderr).toBe(0)
    expect(inventoried.stdout.trim()).toBe('T2_BR_SPRACE: ready dry')
    const store = await openSummary()
    try {
      expect(await store.status('T3_CH_New')).toEqual({ status: 'halt', reporting: 'act' })
      expect(await store.status('T1_US_FNAL_Disk')).toEqual({ status: 'disabled', reporting: 'dry' })
    } finally {
      await store.close()
    }
  })
})

describe('check --json', () => {
  it('prints the run as one JSON object, its figures those of the summary store and its lists', async () => {
    const store = await openSummary()
    let last: Awaited<ReturnType<typeof store.history>>[number] | undefined
    try {
      last = (await store.history(SITE)).at(-1)
    } finally {
      await store.close()
    }
    expect(last).toBeDefined()
    if (!last) return
    expect(Object.keys(checkJson).sort()).toEqual(
      [
        'site',
        'reporting',
        'runId',
        'time',
        'seconds',
        'files',
        'directories',
        'missing',
        'orphan',
        'empty',
        'unlisted',
        'nosource',
        'unrecoverable',
        'requested',
        'heldBack',
        'storageUnlisted',
        'log',
      ].sort(),
    )
    expect(checkJson.site).toBe(SITE)
    expect(checkJson.reporting).toBe('dry')
    expect(checkJson.files).toBe(last.files)
    expect(checkJson.directories).toBe(last.nodes)
    expect(checkJson.missing.count).toBe(last.missing)
    expect(checkJson.missing.size).toBe(last.missingSize)
    expect(checkJson.orphan.count).toBe(last.orphan)
    expect(checkJson.orphan.size).toBe(last.orphanSize)
    expect(checkJson.missing.count).toBeGreaterThan(0)
    expect(lines(checkJson.missing.file)).toHaveLength(checkJson.missing.count)
    expect(lines(checkJson.orphan.file)).toHaveLength(checkJson.orphan.count)
    expect(checkJson.requested).toEqual({ deletions: 0, transfers: 0 })
    expect(fs.existsSync(checkJson.log as string)).toBe(true)
  })

  it('says no site was ready as JSON too', () => {
    const r = cli(['check', '--site', 'T9_NONE', '--config', site.config, '--json'])
    expect(r.code).toBe(0)
    expect(JSON.parse(r.stdout)).toEqual({ site: null, message: 'no ready site matches T9_NONE' })
  })
})

describe('invalidate', () => {
  beforeAll(() => {
    const r = cli(['set-status', SITE, 'act', '--config', site.config])
    expect(r.code, r.stderr).toBe(0)
  })

  it('refuses to write without --yes when there is no terminal to ask on', async () => {
    const r = cli(['invalidate', '--config', site.config])
    expect(r.code).toBe(2)
    oneLine(r, /invalidate writes to the registry: give --yes \(or --dry-run\)/)
    expect(await localInvalidations()).toEqual([])
  })

  it('says what it would request with --dry-run, and writes nothing', async () => {
    const before = await unactedMissing()
    expect(before).toHaveLength(checkJson.missing.count)
    const r = cli(['invalidate', '--dry-run', '--config', site.config])
    expect(r.code, r.stderr).toBe(0)
    const out = r.stdout.trim().split('\n')
    expect(out[0]).toBe(`${SITE}: would invalidate ${plural(before.length, 'missing file')}`)
    expect(
      out
        .slice(1, -1)
        .map((l) => l.trim())
        .sort(),
    ).toEqual(before)
    expect(out.at(-1)).toBe('dry run: nothing was written')
    expect(await localInvalidations()).toEqual([])
    expect(await unactedMissing()).toEqual(before)
  })

  it.skipIf(!have('script'))('asks on a terminal, and writes nothing when told no', async () => {
    const r = onTerminal(['invalidate', '--config', site.config], 100, 'n\n')
    expect(r.code).toBe(1)
    expect(r.screen).toMatch(/Invalidate \d+ files at 1 site in the registry\? \[y\/N\]/)
    expect(r.screen).toMatch(/not confirmed; nothing was written/)
    expect(await localInvalidations()).toEqual([])
  })

  it.skipIf(!have('script'))('writes what it said once told yes on the terminal', async () => {
    const want = await unactedMissing()
    const r = onTerminal(['invalidate', '--config', site.config], 100, 'y\n')
    expect(r.code, r.screen).toBe(0)
    expect(r.screen).toContain(`${SITE}: ${plural(want.length, 'missing file')} invalidated (${want.length} new)`)
    expect(await localInvalidations()).toEqual(want)
    expect(await unactedMissing()).toEqual([])
  })

  it('writes with --yes, and has nothing left to do after', async () => {
    const r = cli(['invalidate', '--yes', '--config', site.config])
    expect(r.code, r.stderr).toBe(0)
    expect(r.stdout).toMatch(/nothing to invalidate/)
  })
})

describe('list', () => {
  const work = tempDir('operator-list')
  const storage = path.join(work, 'storage')
  beforeAll(() => {
    for (let d = 0; d < 40; d++) {
      for (let f = 0; f < 25; f++) writeFile(path.join(storage, 'store', `d${d}`, `sub${d % 3}`, `f${f}.root`), f + 1)
    }
  })
  afterAll(() => fs.rmSync(work, { recursive: true, force: true }))
  const findCount = (type: 'f' | 'd') =>
    Number(spawnSync('sh', ['-c', `find . -type ${type} | wc -l`], { cwd: storage, encoding: 'utf8' }).stdout.trim())

  it('prints a JSON summary and says what it wrote where', () => {
    const out = path.join(work, 'site.tree')
    const r = cli(['list', storage, '-o', out, '--json'])
    expect(r.code, r.stderr).toBe(0)
    const summary = JSON.parse(r.stdout)
    expect(Object.keys(summary).sort()).toEqual(
      ['target', 'output', 'format', 'files', 'directories', 'size', 'unlisted', 'seconds'].sort(),
    )
    expect(summary.files).toBe(findCount('f'))
    // the tree counts the root, which `find .` prints as `.`
    expect(summary.directories).toBe(findCount('d'))
    expect(summary.size).toBe(40 * ((25 * 26) / 2))
    expect(summary.format).toBe('tree')
    expect(summary.unlisted).toEqual({ count: 0, directories: [] })
    expect(fs.existsSync(out)).toBe(true)
    const last = r.stderr.trim().split('\n').at(-1)
    expect(last).toMatch(
      new RegExp(`^list: 1000 files \\(.*\\) in ${summary.directories} directories in [0-9.]+ s -> ${out} \\(tree\\)$`),
    )
  })

  it('refuses --json without --output: the listing has standard output', () => {
    const r = cli(['list', storage, '--json'])
    expect(r.code).toBe(2)
    oneLine(r, /--json needs --output/)
  })

  it('keeps plain lines, never a redrawn one, when standard error is not a terminal', () => {
    const r = cli(['list', storage, '-o', path.join(work, 'plain.txt'), '--format', 'text'])
    expect(r.code, r.stderr).toBe(0)
    expect(r.stderr).not.toContain('\r')
    expect(r.stderr).toMatch(/^list: \d+ directories listed, 0 queued, 1000 files, /m)
  })

  it.skipIf(!have('script'))('fits its progress line to the terminal, whatever its width', () => {
    for (const columns of [80, 40, 200]) {
      const out = path.join(work, `tty-${columns}.tree`)
      const r = onTerminal(['list', storage, '-o', out, '--threads', '1', '--expect-files', '4000'], columns)
      expect(r.code, r.screen).toBe(0)
      // each redraw: carriage return, the line, erase to the end of the line
      // biome-ignore lint/suspicious/noControlCharactersInRegex: the escape sequence is what is tested
      const redraws = Array.from(r.screen.matchAll(/\r([^\r\n]*)\x1b\[K/g), (m) => m[1] as string)
      expect(redraws.length, r.screen).toBeGreaterThan(0)
      for (const line of redraws) {
        expect(line.length, line).toBeLessThan(columns)
        expect(line).toMatch(/^list: [\d,]+ files/)
      }
      // the last shows the whole listing: files, directories and the share of the files expected
      expect(redraws.at(-1)).toMatch(/^list: 1,000 files/)
      if (columns >= 80) expect(redraws.at(-1)).toMatch(/\d+ dirs .*files\/s \d+:\d\d 25% ETA /)
      expect(r.screen).toMatch(new RegExp(`-> ${out} \\(tree\\)`))
    }
  })
})

describe('the progress line', () => {
  const progress = {
    dirsDone: 410,
    dirsQueued: 123_456,
    files: 2800,
    bytes: 7.2e12,
    unlisted: 0,
    retries: 0,
    elapsedSeconds: 3725,
    filesPerSecond: 950.4,
    done: false,
  }

  it('lets the line after a listing wait for its last event, however late it arrives', async () => {
    const said: string[] = []
    const io = { isTTY: false, out: () => {}, err: (t: string) => said.push(t) }
    const report = progressReporter(io, 'list')
    const waited = report.shown(10_000).then(() => said.push('after'))
    report(progress)
    await new Promise((r) => setTimeout(r, 50))
    expect(said).toEqual([])
    report({ ...progress, done: true })
    await waited
    expect(said.map((l) => l.split(':')[0])).toEqual(['list', 'after'])
    // shown already: at once; never shown: after the wait
    await report.shown()
    const silent = progressReporter(io, 'list')
    const t0 = Date.now()
    await silent.shown(100)
    expect(Date.now() - t0).toBeGreaterThanOrEqual(90)
  })

  it('gives the share of files, not of directories, and the time left at the rate so far', () => {
    const line = progressLine('list', progress, 200, 300_000)
    expect(line).toBe('list: 2,800 files 410 dirs (123,456 queued) 7.2 TB 950 files/s 1:02:05 0% ETA 5:13')
    // (300,000 - 2,800) files at 950.4 files/s: 312.7 s; (300,000 - 150,000) at that rate: 157.8 s
    expect(progressLine('list', { ...progress, files: 150_000 }, 200, 300_000)).toMatch(/ 50% ETA 2:38$/)
    expect(progressLine('list', progress, 200)).not.toMatch(/%|ETA/)
  })

  it('leaves out the least useful parts to fit the width, files first kept', () => {
    for (let width = 20; width <= 120; width++) {
      const line = progressLine('list', progress, width, 300_000)
      expect(line.length).toBeLessThanOrEqual(width)
      expect(line.startsWith('list: 2,800 files')).toBe(true)
    }
    expect(progressLine('list', progress, 60, 300_000)).toBe(
      'list: 2,800 files 410 dirs 950 files/s 1:02:05 0% ETA 5:13',
    )
    expect(progressLine('list', progress, 40, 300_000)).toBe('list: 2,800 files 410 dirs 0%')
  })
})

describe('the command line', () => {
  it('prints its versions for -V or --version anywhere', () => {
    for (const args of [['-V'], ['--version'], ['list', '--version'], ['check', '--site', 'X', '-V']]) {
      const r = cli(args)
      expect(r.code, args.join(' ')).toBe(0)
      const lines = r.stdout.trim().split('\n')
      expect(lines.slice(0, 2)).toEqual([
        `dynamo-consistency ${VERSION}`,
        `native module ${nativeVersion()} (${platformName()})`,
      ])
      expect(lines[2]).toMatch(/^XRootD support: (yes, \/.+|no: .+)$/)
      expect(lines).toHaveLength(3)
    }
  })

  it('has help <command>, the same as <command> --help, with examples', () => {
    for (const name of COMMANDS) {
      const help = cli(['help', name])
      expect(help.code).toBe(0)
      expect(help.stdout).toBe(cli([name, '--help']).stdout)
      const examples = help.stdout.split('\nExamples:\n')[1]
      expect(examples, name).toBeDefined()
      expect(examples).toMatch(new RegExp(`^  (# .*\\n  )?(source <\\()?dynamo-consistency ${name}\\b`))
    }
    expect(cli(['help']).stdout).toMatch(/^Usage: dynamo-consistency <command>/)
    expect(cli(['help', '--help']).stdout).toBe(cli(['help']).stdout)
    const unknown = cli(['help', 'frobnicate'])
    expect(unknown.code).toBe(2)
    oneLine(unknown, /unknown command frobnicate/)
  })

  it('lists -o in the help of the commands that take it', () => {
    expect(cli(['help', 'compare']).stdout).toMatch(/^ {2}-o, --output BASE /m)
    expect(cli(['help', 'list']).stdout).toMatch(/^ {2}-o, --output FILE /m)
    expect(cli(['help', 'invalidate']).stdout).toMatch(/^ {2}-y, --yes /m)
  })

  it('puts usage errors on standard error', () => {
    const none = cli([])
    expect(none.code).toBe(2)
    expect(none.stdout).toBe('')
    expect(none.stderr).toMatch(/^Usage: dynamo-consistency <command>/)
    const unknown = cli(['frobnicate'])
    expect(unknown.code).toBe(2)
    oneLine(unknown, /unknown command frobnicate/)
    const bad = cli(['completion', 'fish'])
    expect(bad.code).toBe(2)
    oneLine(bad, /"fish" is not bash or zsh/)
  })

  it('counts in the right number', () => {
    const work = tempDir('operator-plural')
    try {
      const one = path.join(work, 'one.txt')
      fs.writeFileSync(one, '/a|1|1500000000\n')
      const two = path.join(work, 'two.txt')
      fs.writeFileSync(two, '/a|1|1500000000\n/b/c|2|1500000000\n')
      const r = cli(['compare', one, two, '-o', path.join(work, 'out')])
      expect(r.code, r.stderr).toBe(0)
      expect(r.stdout).toMatch(/^inventory: 1 file, /m)
      expect(r.stdout).toMatch(/^remote: +2 files, .* in 2 directories$/m)
      expect(r.stdout).toMatch(/^orphan: +1 file, /m)
      expect(r.stdout).toMatch(/^missing: +0 files, /m)
      expect(r.stdout).not.toMatch(/\b1 (files|directories)\b/)
      expect(plural(1, 'directory')).toBe('1 directory')
      expect(plural(2, 'directory')).toBe('2 directories')
      expect(plural(0, 'file')).toBe('0 files')
    } finally {
      fs.rmSync(work, { recursive: true, force: true })
    }
  })
})

describe('shell completion', () => {
  /** What bash completes for the words typed, the last one being completed. */
  function bashComplete(script: string, words: string[]): string[] {
    const file = path.join(site.dir, 'completion.bash')
    fs.writeFileSync(file, script)
    const array = words.map((w) => `'${w}'`).join(' ')
    const r = spawnSync(
      'bash',
      [
        '-c',
        `source '${file}'; COMP_WORDS=(${array}); COMP_CWORD=${words.length - 1}; _dynamo_consistency; printf '%s\\n' "\${COMPREPLY[@]}"`,
      ],
      { encoding: 'utf8' },
    )
    expect(r.status, r.stderr).toBe(0)
    return r.stdout.split('\n').filter(Boolean).sort()
  }

  it('completes commands, options and fixed values in bash', () => {
    const r = cli(['completion', 'bash'])
    expect(r.code).toBe(0)
    expect(bashComplete(r.stdout, ['dynamo-consistency', 'se'])).toEqual(['set-status'])
    expect(bashComplete(r.stdout, ['dynamo-consistency', ''])).toEqual(
      [...COMMANDS, 'help', '--help', '--version'].sort(),
    )
    expect(bashComplete(r.stdout, ['dynamo-consistency', 'check', '--s'])).toEqual(['--site'])
    expect(bashComplete(r.stdout, ['dynamo-consistency', 'invalidate', '--'])).toEqual(
      ['--config', '--dry-run', '--help', '--site', '--version', '--yes'].sort(),
    )
    expect(bashComplete(r.stdout, ['dynamo-consistency', 'set-status', 'T2_US_MIT', 'd'])).toEqual(['disable', 'dry'])
    expect(bashComplete(r.stdout, ['dynamo-consistency', 'web', ''])).toEqual(['install', 'serve'])
    expect(bashComplete(r.stdout, ['dynamo-consistency', 'help', 'c'])).toEqual(['check', 'compare', 'completion'])
  })

  it.skipIf(!have('zsh'))('completes commands, options and fixed values in zsh', () => {
    const file = path.join(site.dir, 'completion.zsh')
    fs.writeFileSync(file, cli(['completion', 'zsh']).stdout)
    expect(spawnSync('zsh', ['-n', file]).status).toBe(0)
    // zsh's completion functions stubbed: each prints what it was given (zsh itself filters by the prefix)
    const complete = (words: string[]) => {
      const r = spawnSync(
        'zsh',
        [
          '-c',
          [
            'compdef() { print -r -- "compdef $*" }',
            // biome-ignore lint/suspicious/noTemplateCurlyInString: zsh parameter expansion, not a template
            '_describe() { print -rl -- ${(P)2} }',
            'compadd() { shift; print -rl -- "$@" }',
            '_files() { print -r -- _files }',
            `source '${file}'`,
            `words=(${words.map((w) => `'${w}'`).join(' ')}); CURRENT=${words.length}; PREFIX='${words.at(-1)}'`,
            '_dynamo_consistency',
          ].join('\n'),
        ],
        { encoding: 'utf8' },
      )
      expect(r.status, r.stderr).toBe(0)
      return r.stdout.split('\n').filter(Boolean)
    }
    const [registered, ...commands] = complete(['dynamo-consistency', ''])
    expect(registered).toBe('compdef _dynamo_consistency dynamo-consistency')
    expect(commands.map((c) => c.split(':')[0])).toEqual([...COMMANDS, 'help'])
    expect(complete(['dynamo-consistency', 'set-status', 'T2_US_MIT', ''])).toEqual([
      'compdef _dynamo_consistency dynamo-consistency',
      'ready',
      'halt',
      'disable',
      'act',
      'dry',
    ])
    expect(complete(['dynamo-consistency', 'invalidate', '--']).slice(1).sort()).toEqual(
      ['--config', '--dry-run', '--help', '--site', '--version', '--yes', '-V', '-h', '-y'].sort(),
    )
    expect(complete(['dynamo-consistency', 'compare', 'x']).slice(1)).toEqual(['_files'])
  })

  it('gives zsh the same commands and options', () => {
    const r = cli(['completion', 'zsh'])
    expect(r.code).toBe(0)
    expect(r.stdout.split('\n')[0]).toBe('#compdef dynamo-consistency')
    expect(r.stdout).toContain('compdef _dynamo_consistency dynamo-consistency')
    for (const name of COMMANDS) {
      expect(r.stdout).toMatch(new RegExp(`^ {4}'${name}:`, 'm'))
      const options = helpOptions(cli(['help', name]).stdout)
      const line = r.stdout.split('\n').find((l) => l.startsWith(`    ${name}) opts=(`))
      expect(line, name).toBeDefined()
      for (const o of options) expect(line).toContain(`'${o}'`)
    }
    expect(r.stdout).toContain(
      "set-status) opts=('--config' '--create'); values=('ready' 'halt' 'disable' 'act' 'dry')",
    )
  })
})
