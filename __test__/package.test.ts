// The packages as users get them: the root package and the linux-x64-gnu
// platform package packed with `npm pack`, installed from their tarballs into
// an empty project with no registry access (the other dependencies come from
// npm's cache, pinned by this repository's lock), then run there: the
// command, `require` and `import`, and the types of both.
import { spawnSync } from 'node:child_process'
import * as fs from 'node:fs'
import * as path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ROOT, tempDir } from './helpers/cli'

const PLATFORM = 'linux-x64-gnu'
const BINDING = `@dynamo-consistency/binding-${PLATFORM}`
const work = tempDir('package')
const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8'))

interface Packed {
  filename: string
  files: Array<{ path: string }>
}

function run(cmd: string, args: string[], cwd: string, env: NodeJS.ProcessEnv = {}) {
  const r = spawnSync(cmd, args, { cwd, encoding: 'utf8', env: { ...process.env, ...env } })
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr }
}

function pack(dir: string): Packed {
  const r = run('npm', ['pack', '--json', '--pack-destination', work], dir)
  expect(r.code, r.stderr).toBe(0)
  return (JSON.parse(r.stdout) as Packed[])[0] as Packed
}

/**
 * An empty project with `tarballs` installed by `npm install --offline`. Its
 * lock names this repository's locked versions of the runtime dependencies,
 * which npm then takes from its cache.
 */
function install(name: string, tarballs: Record<string, string>): string {
  const app = path.join(work, name)
  fs.mkdirSync(app)
  const dependencies = Object.fromEntries(Object.entries(tarballs).map(([n, t]) => [n, `file:${t}`]))
  const lock = JSON.parse(fs.readFileSync(path.join(ROOT, 'package-lock.json'), 'utf8'))
  const packages: Record<string, unknown> = { '': { name, version: '1.0.0', dependencies } }
  for (const [where, entry] of Object.entries(lock.packages as Record<string, { dev?: boolean }>)) {
    if (where && !entry.dev && !where.includes('@dynamo-consistency/')) packages[where] = entry
  }
  fs.writeFileSync(
    path.join(app, 'package.json'),
    JSON.stringify({ name, version: '1.0.0', private: true, dependencies }),
  )
  fs.writeFileSync(
    path.join(app, 'package-lock.json'),
    JSON.stringify({ name, version: '1.0.0', lockfileVersion: 3, requires: true, packages }),
  )
  const r = run('npm', ['install', '--offline', '--no-audit', '--no-fund'], app)
  expect(r.code, r.stderr).toBe(0)
  return app
}

let root: Packed
let binding: Packed
let app: string
let rootOnly: string

beforeAll(() => {
  root = pack(ROOT)
  // the platform package as `napi artifacts` and the release workflow fill it: the .node and the shim
  const dir = path.join(work, 'platform')
  fs.cpSync(path.join(ROOT, 'npm', PLATFORM), dir, { recursive: true })
  for (const f of [`dynamo-consistency.${PLATFORM}.node`, `libdc_xrdcl.${PLATFORM}.so`])
    fs.copyFileSync(path.join(ROOT, f), path.join(dir, f))
  binding = pack(dir)
  const rootTgz = path.join(work, root.filename)
  app = install('app', { 'dynamo-consistency': rootTgz, [BINDING]: path.join(work, binding.filename) })
  rootOnly = install('root-only', { 'dynamo-consistency': rootTgz })
  fs.writeFileSync(path.join(app, 'inv.txt'), '/store/a/1.root|10|1500000000\n/store/a/2.root|20|1500000000\n')
  fs.writeFileSync(path.join(app, 'site.txt'), '/store/a/1.root|10|1500000000\n/store/b/3.root|30|1500000000\n')
})

afterAll(() => {
  fs.rmSync(work, { recursive: true, force: true })
})

describe('the packed files', () => {
  it('the root package ships its code, types, sources and example, no build output of a run, no binary', () => {
    const files = root.files.map((f) => f.path)
    for (const f of ['bin/dynamo-consistency.js', 'index.js', 'index.d.ts', 'dist/index.js', 'dist/index.mjs'])
      expect(files).toContain(f)
    for (const f of ['dist/index.d.ts', 'dist/index.d.mts', 'src/index.ts', 'examples/site/inventory.txt'])
      expect(files).toContain(f)
    expect(files.filter((f) => /^examples\/out|\.node$|\.so$|^target\/|^crates\/|^__test__\//.test(f))).toEqual([])
  })

  it('every source map points at sources the package ships', () => {
    const installed = path.join(app, 'node_modules', 'dynamo-consistency')
    const maps = root.files.map((f) => f.path).filter((f) => f.endsWith('.map'))
    expect(maps.length).toBeGreaterThan(10)
    const missing = maps.flatMap((m) => {
      const map = JSON.parse(fs.readFileSync(path.join(installed, m), 'utf8')) as { sources: string[] }
      return map.sources
        .map((s) => path.join(path.dirname(m), s))
        .filter((s) => !fs.existsSync(path.join(installed, s)))
    })
    expect(missing).toEqual([])
  })

  it('the platform package ships the .node and the XRootD shim', () => {
    expect(binding.files.map((f) => f.path).sort()).toEqual(
      ['README.md', `dynamo-consistency.${PLATFORM}.node`, `libdc_xrdcl.${PLATFORM}.so`, 'package.json'].sort(),
    )
  })

  it('the root depends on every platform package, at its own version', () => {
    const targets = fs.readdirSync(path.join(ROOT, 'npm'))
    expect(Object.keys(pkg.optionalDependencies).sort()).toEqual(
      targets.map((t) => `@dynamo-consistency/binding-${t}`).sort(),
    )
    for (const t of targets) {
      const platform = JSON.parse(fs.readFileSync(path.join(ROOT, 'npm', t, 'package.json'), 'utf8'))
      expect(pkg.optionalDependencies[platform.name]).toBe(pkg.version)
      expect(platform.version).toBe(pkg.version)
    }
  })
})

describe('installed with its platform package', () => {
  it('npx dynamo-consistency --version says the versions and where XRootD support comes from', () => {
    const r = run('npx', ['--no-install', 'dynamo-consistency', '--version'], app)
    expect(r.code, r.stderr).toBe(0)
    const shim = path.join(fs.realpathSync(app), 'node_modules', BINDING, `libdc_xrdcl.${PLATFORM}.so`)
    expect(r.stdout).toBe(
      `dynamo-consistency ${pkg.version}\nnative module ${pkg.version} (${PLATFORM})\nXRootD support: yes, ${shim}\n`,
    )
  })

  it('npx dynamo-consistency compare', () => {
    const r = run(
      'npx',
      ['--no-install', 'dynamo-consistency', 'compare', 'inv.txt', 'site.txt', '--output', 'out'],
      app,
    )
    expect(r.code, r.stderr).toBe(0)
    expect(fs.readFileSync(path.join(app, 'out_missing.txt'), 'utf8')).toBe('/store/a/2.root\n')
    expect(fs.readFileSync(path.join(app, 'out_orphan.txt'), 'utf8')).toBe('/store/b/3.root\n')
  })

  it('npx dynamo-consistency list of a local directory', () => {
    const store = path.join(app, 'store-list')
    fs.mkdirSync(path.join(store, 'mc', 'a'), { recursive: true })
    fs.writeFileSync(path.join(store, 'mc', 'a', 'f.root'), 'xyz')
    const r = run(
      'npx',
      ['--no-install', 'dynamo-consistency', 'list', store, '-o', 'listed.txt', '--format', 'text'],
      app,
    )
    expect(r.code, r.stderr).toBe(0)
    expect(fs.readFileSync(path.join(app, 'listed.txt'), 'latin1')).toMatch(/^\/mc\/a\/f\.root\|3\|\d+\n$/)
  })

  it('without the XRootD library: compare and list work, a native root:// listing says what to install', () => {
    const noShim = { DYNAMO_CONSISTENCY_XRDCL_SHIM: path.join(app, 'no-such-shim.so') }
    const c = run(
      'npx',
      ['--no-install', 'dynamo-consistency', 'compare', 'inv.txt', 'site.txt', '-o', 'noxrd'],
      app,
      noShim,
    )
    expect(c.code, c.stderr).toBe(0)
    expect(fs.readFileSync(path.join(app, 'noxrd_missing.txt'), 'utf8')).toBe('/store/a/2.root\n')
    const l = run(
      'npx',
      ['--no-install', 'dynamo-consistency', 'list', app, '-o', 'noxrd.txt', '--format', 'text'],
      app,
      noShim,
    )
    expect(l.code, l.stderr).toBe(0)
    const v = run('npx', ['--no-install', 'dynamo-consistency', '--version'], app, noShim)
    expect(v.stdout).toMatch(/^XRootD support: no: .+$/m)
    // nothing listens on port 1: the library is missing before any connection is tried
    const n = run(
      'npx',
      ['--no-install', 'dynamo-consistency', 'list', 'root://127.0.0.1:1//store', '--method', 'native'],
      app,
      noShim,
    )
    expect(n.code).toBe(1)
    const lines = n.stderr.trim().split('\n')
    expect(lines).toHaveLength(1)
    expect(lines[0]).toMatch(/libxrdcl3.*xrootd-client-libs.*--method xrdfs/)
  })

  it('require and import give the same module', () => {
    const script = [
      "import { createRequire } from 'node:module'",
      "import * as esm from 'dynamo-consistency'",
      "const cjs = createRequire(import.meta.url)('dynamo-consistency')",
      "const r = esm.compare(esm.Tree.readListing('inv.txt'), cjs.Tree.readListing('site.txt'))",
      'console.log(esm.compare === cjs.compare, esm.Tree === cjs.Tree, r.missingCount, r.orphanCount)',
    ].join('\n')
    fs.writeFileSync(path.join(app, 'both.mjs'), script)
    const r = run(process.execPath, ['both.mjs'], app)
    expect(r.stderr).toBe('')
    expect(r.stdout).toBe('true true 1 1\n')
  })

  it('the types resolve for require and for import', () => {
    fs.writeFileSync(
      path.join(app, 'esm.mts'),
      "import { compare, ConsistencyError, Tree } from 'dynamo-consistency'\nconst n: number = compare(new Tree(), Tree.load('t')).missingCount\nexport { n, ConsistencyError }\n",
    )
    fs.writeFileSync(
      path.join(app, 'cjs.cts'),
      "import dc = require('dynamo-consistency')\nconst n: number = dc.compare(new dc.Tree(), dc.Tree.load('t')).orphanCount\nexport = n\n",
    )
    // and a wrong use is caught: the types are real, not any
    fs.writeFileSync(
      path.join(app, 'bad.mts'),
      "import { compare, Tree } from 'dynamo-consistency'\nconst s: string = compare(new Tree(), new Tree()).missingCount\nexport { s }\n",
    )
    const tsc = path.join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc')
    const args = ['--noEmit', '--strict', '--module', 'nodenext', '--types', 'node', 'esm.mts', 'cjs.cts', 'bad.mts']
    const r = run(process.execPath, [tsc, ...args], app)
    expect(r.code).toBe(2)
    expect(r.stdout.trim().split('\n')).toEqual([
      expect.stringMatching(/^bad\.mts\(2,7\): error TS2322: Type 'number' is not assignable to type 'string'/),
    ])
  })
})

describe('installed without a loadable native module', () => {
  /** One line on standard error, and no stack frame. */
  function oneLine(stderr: string, cause: RegExp): void {
    expect(stderr.trim().split('\n')).toHaveLength(1)
    expect(stderr).toMatch(cause)
    expect(stderr).not.toMatch(/\n\s+at /)
  }

  it('without the platform package: one line naming the missing package; --version still works', () => {
    const r = run('npx', ['--no-install', 'dynamo-consistency', 'compare', 'a', 'b'], rootOnly)
    expect(r.code).toBe(1)
    oneLine(r.stderr, new RegExp(`cannot load the native module: .*${BINDING} is not installed`))
    const v = run('npx', ['--no-install', 'dynamo-consistency', '--version'], rootOnly)
    expect(v.code).toBe(0)
    expect(v.stdout).toMatch(new RegExp(`^dynamo-consistency ${pkg.version}\nnative module: not loaded: .*${BINDING}`))
  })

  it('a .node that does not load: one line with the cause', () => {
    const broken = path.join(work, 'broken')
    fs.cpSync(app, broken, { recursive: true, verbatimSymlinks: true })
    const node = path.join(broken, 'node_modules', BINDING, `dynamo-consistency.${PLATFORM}.node`)
    fs.writeFileSync(node, 'not a shared object')
    const r = run('npx', ['--no-install', 'dynamo-consistency', 'compare', 'inv.txt', 'site.txt'], broken)
    expect(r.code).toBe(1)
    oneLine(
      r.stderr,
      /cannot load the native module: .*dynamo-consistency\.linux-x64-gnu\.node: (invalid ELF header|file too short)/,
    )
  })
})
