// The XRootD client library is loaded at run time, through our shim beside
// the .node file: the native module itself does not link it, every command
// that does not list XRootD natively runs without it, and a native listing
// without it fails with one line that says what to install.
import { spawnSync } from 'node:child_process'
import * as fs from 'node:fs'
import * as path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { platformName } from '../src/native'
import { cli, ROOT, tempDir, writeFile } from './helpers/cli'
import { have, XrootdServer } from './helpers/xrootd-server'

const NODE = path.join(ROOT, `dynamo-consistency.${platformName()}.node`)
const SHIM = path.join(ROOT, `libdc_xrdcl.${platformName()}.so`)
const work = tempDir('xrootd-loading')
const server = new XrootdServer()
/** The shim made unfindable. */
const NO_SHIM = { DYNAMO_CONSISTENCY_XRDCL_SHIM: path.join(work, 'nonexistent', 'libdc_xrdcl.so') }

/** The shared libraries a file needs (`readelf -d`). */
function needed(file: string): string[] {
  const r = spawnSync('readelf', ['-d', file], { encoding: 'utf8' })
  expect(r.status, r.stderr).toBe(0)
  return [...r.stdout.matchAll(/\(NEEDED\)\s+Shared library: \[(.+)\]/g)].map((m) => m[1] as string)
}

/** One line on standard error, naming what to install and what to use instead, and no stack frame. */
function saysWhatToInstall(stderr: string): void {
  expect(stderr.trim().split('\n')).toHaveLength(1)
  expect(stderr).toMatch(/XRootD support is unavailable/)
  expect(stderr).toMatch(/libXrdCl\.so\.3|libXrdClAbsent/)
  expect(stderr).toMatch(/libxrdcl3.*xrootd-client-libs/)
  expect(stderr).toMatch(/--method xrdfs or --method gfal/)
  expect(stderr).not.toMatch(/\n\s+at /)
}

beforeAll(async () => {
  writeFile(path.join(server.data, 'store/mc/a/1.root'), 10)
  writeFile(path.join(server.data, 'store/mc/b/2.root'), 20)
  await server.start()
  fs.writeFileSync(path.join(work, 'inv.txt'), '/store/mc/a/1.root|10|1500000000\n/store/mc/c/3.root|30|1500000000\n')
  fs.writeFileSync(path.join(work, 'site.txt'), '/store/mc/a/1.root|10|1500000000\n/store/mc/b/2.root|20|1500000000\n')
})

afterAll(async () => {
  await server.stop()
  fs.rmSync(work, { recursive: true, force: true })
})

describe('the native module', () => {
  it('does not link the XRootD client library; the shim beside it does', () => {
    const own = needed(NODE)
    expect(own).toContain('libc.so.6')
    expect(own.filter((l) => /XrdCl|stdc\+\+/.test(l))).toEqual([])
    expect(needed(SHIM)).toContain('libXrdCl.so.3')
  })

  it('--version names the shim it loaded', () => {
    const r = cli(['--version'])
    expect(r.code).toBe(0)
    const version = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')).version
    expect(r.stdout).toBe(
      `dynamo-consistency ${version}\nnative module ${version} (${platformName()})\nXRootD support: yes, ${SHIM}\n`,
    )
  })
})

describe('without the shim', () => {
  it('compare of two listing files works', () => {
    const out = path.join(work, 'cmp')
    const r = cli(['compare', path.join(work, 'inv.txt'), path.join(work, 'site.txt'), '--output', out], {
      env: NO_SHIM,
    })
    expect(r.code, r.stderr).toBe(0)
    expect(fs.readFileSync(`${out}_missing.txt`, 'utf8')).toBe('/store/mc/c/3.root\n')
    expect(fs.readFileSync(`${out}_orphan.txt`, 'utf8')).toBe('/store/mc/b/2.root\n')
  })

  it('--help and --version work, and --version says why XRootD support is absent', () => {
    expect(cli(['--help'], { env: NO_SHIM }).code).toBe(0)
    const r = cli(['--version'], { env: NO_SHIM })
    expect(r.code).toBe(0)
    const lines = r.stdout.trim().split('\n')
    expect(lines).toHaveLength(3)
    expect(lines[2]).toMatch(/^XRootD support: no: native XRootD support is unavailable: .*nonexistent/)
  })

  it('a native root:// listing fails with one line that says what to install', () => {
    const r = cli(['list', server.url('/store'), '--method', 'native'], { env: NO_SHIM })
    expect(r.code).toBe(1)
    expect(r.stdout).toBe('')
    saysWhatToInstall(r.stderr)
    expect(r.stderr).toContain(NO_SHIM.DYNAMO_CONSISTENCY_XRDCL_SHIM)
  })

  it('the xrdfs lister still works', () => {
    const r = cli(['list', server.url('/store'), '--method', 'xrdfs'], { env: NO_SHIM })
    expect(r.code, r.stderr).toBe(0)
    expect(
      r.stdout
        .trim()
        .split('\n')
        .map((l) => l.split('|')[0]),
    ).toEqual(['/store/mc/a/1.root', '/store/mc/b/2.root'])
  })
})

describe('with the shim found', () => {
  it('the native lister lists the server', () => {
    const r = cli(['list', server.url('/store'), '--method', 'native'])
    expect(r.code, r.stderr).toBe(0)
    expect(
      r.stdout
        .trim()
        .split('\n')
        .map((l) => l.split('|')[0]),
    ).toEqual(['/store/mc/a/1.root', '/store/mc/b/2.root'])
  })
})

describe.runIf(have('cc'))('a shim whose XRootD client library is absent', () => {
  it('fails with one line that names the missing library', () => {
    // a stand-in shim that needs libXrdClAbsent.so.3: linked against a library of that name, then removed
    const dir = path.join(work, 'absent')
    fs.mkdirSync(dir)
    fs.writeFileSync(path.join(dir, 'absent.c'), 'int dc_absent(void) { return 0; }\n')
    fs.writeFileSync(
      path.join(dir, 'shim.c'),
      'extern int dc_absent(void);\nint dcx_probe(void) { return dc_absent(); }\n',
    )
    const cc = (args: string[]) => {
      const r = spawnSync('cc', args, { cwd: dir, encoding: 'utf8' })
      expect(r.status, r.stderr).toBe(0)
    }
    cc(['-shared', '-fPIC', '-Wl,-soname,libXrdClAbsent.so.3', '-o', 'libXrdClAbsent.so.3', 'absent.c'])
    cc(['-shared', '-fPIC', '-o', 'shim.so', 'shim.c', path.join(dir, 'libXrdClAbsent.so.3')])
    fs.rmSync(path.join(dir, 'libXrdClAbsent.so.3'))
    const r = cli(['list', server.url('/store'), '--method', 'native'], {
      env: { DYNAMO_CONSISTENCY_XRDCL_SHIM: path.join(dir, 'shim.so') },
    })
    expect(r.code).toBe(1)
    saysWhatToInstall(r.stderr)
    expect(r.stderr).toMatch(/libXrdClAbsent\.so\.3: cannot open shared object file/)
  })
})
