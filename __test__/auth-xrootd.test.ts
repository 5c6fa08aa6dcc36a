// Servers that require authentication, as real sites' doors do: GSI (an X.509
// proxy of a user of a CA the server trusts) and sss (a shared-secret keytab),
// made entirely in test set-up (helpers/credentials.ts). With the right
// credential every lister lists what `find` finds; with none, an expired
// proxy, an untrusted one or a wrong keytab, the listing stops at once with
// one line naming the server and the credential, exit 4: never an empty site.
import { spawnSync } from 'node:child_process'
import * as fs from 'node:fs'
import * as path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { openEmbeddedDatabase } from '../src/backends'
import { config } from '../src/config'
import { openSummary } from '../src/summary/store'
import { metricsText } from '../src/web/metrics'
import { sitePage } from '../src/web/site-page'
import { siteState } from '../src/web/state'
import { insertReplicas, inventoryRows, makeSite, SITE } from './helpers/check-site'
import { byteSort, cli, writeFile } from './helpers/cli'
import {
  canAuthenticate,
  type Grid,
  gsiSecurity,
  makeGrid,
  makeKeytab,
  proxyOf,
  sssSecurity,
} from './helpers/credentials'
import { have, XrootdServer } from './helpers/xrootd-server'

const gsi = new XrootdServer()
const sss = new XrootdServer()
let grid: Grid
let keytab = ''
let wrongKeytab = ''

/** The tree both servers export. */
function makeTree(data: string): void {
  for (let d = 0; d < 3; d++) {
    for (let f = 0; f < 4; f++) writeFile(path.join(data, `store/mc/era${d}/block ${f % 2}/file${f}.root`), d * 10 + f)
  }
  writeFile(path.join(data, 'store/data/top.root'), 7, 1_600_000_000)
}

/** `find`'s files below `data/store`, as `list --format text` writes them. */
function found(data: string): string[] {
  const r = spawnSync('find', ['store', '-type', 'f', '-printf', '/%P|%s|%T@\\n'], { cwd: data, encoding: 'utf8' })
  return byteSort(
    r.stdout
      .trim()
      .split('\n')
      .map((l) => {
        const [lfn, size, mtime] = l.split('|') as [string, string, string]
        return `/store${lfn}|${size}|${Math.floor(Number(mtime))}`
      }),
  )
}

beforeAll(async () => {
  if (!canAuthenticate) return
  grid = makeGrid()
  keytab = makeKeytab(grid.dir, 'site')
  wrongKeytab = makeKeytab(grid.dir, 'other')
  makeTree(gsi.data)
  makeTree(sss.data)
  gsi.security = gsiSecurity(grid, (f) => gsi.own(f))
  sss.security = sssSecurity(keytab, (f) => sss.own(f))
  await gsi.start()
  await sss.start()
}, 60_000)

afterAll(async () => {
  config.setLocation(null)
  if (!canAuthenticate) return
  await gsi.stop()
  await sss.stop()
})

const methods = ['native', 'xrdfs', ...(have('gfal-ls') ? ['gfal'] : [])]
// the host certificate names localhost: the client checks the name it connected to
const gsiUrl = () => `root://localhost:${gsi.port}//store`
const sssUrl = () => sss.url('/store')
const quick = ['--timeout', '10', '--retries', '1', '--threads', '2']

/** The one error line of a refused listing: nothing else on standard error, nothing listed. */
function refusal(r: { code: number; stdout: string; stderr: string }): string {
  expect(r.code, r.stderr).toBe(4)
  expect(r.stdout).toBe('')
  const lines = r.stderr.trim().split('\n')
  expect(lines).toHaveLength(1)
  return lines[0] as string
}

describe.skipIf(!canAuthenticate)('GSI: an X.509 proxy', () => {
  for (const method of methods) {
    it(`${method}: with a valid proxy, lists what find finds`, () => {
      const r = cli(['list', gsiUrl(), '--method', method, ...quick, '--proxy', grid.proxy], {
        env: { X509_CERT_DIR: grid.certDir },
      })
      expect(r.code, r.stderr).toBe(0)
      expect(r.stdout.trim().split('\n')).toEqual(found(gsi.data))
      expect(r.stderr).not.toContain('unlisted')
    })

    it(`${method}: the proxy from the environment, as xrdfs takes it`, () => {
      const r = cli(['list', gsiUrl(), '--method', method, ...quick], {
        env: { X509_CERT_DIR: grid.certDir, X509_USER_PROXY: grid.proxy },
      })
      expect(r.code, r.stderr).toBe(0)
      expect(r.stdout.trim().split('\n')).toEqual(found(gsi.data))
    })

    it(`${method}: an expired proxy stops the listing at once, naming it`, () => {
      const r = cli(['list', gsiUrl(), '--method', method, ...quick, '--proxy', grid.expiredProxy], {
        env: { X509_CERT_DIR: grid.certDir },
      })
      const line = refusal(r)
      expect(line).toContain(`authentication failed at root://localhost:${gsi.port}`)
      expect(line).toContain(`(credential: proxy ${grid.expiredProxy} (expired 2020-01-02T00:00:00Z))`)
    })

    it(`${method}: no proxy at all, or one of a CA the server does not trust`, () => {
      const absent = path.join(grid.dir, 'no-such-proxy')
      const none = refusal(
        cli(['list', gsiUrl(), '--method', method, ...quick], {
          env: { X509_CERT_DIR: grid.certDir, X509_USER_PROXY: absent },
        }),
      )
      expect(none).toMatch(/^dynamo-consistency: authentication failed at root:\/\/localhost:\d+/)
      expect(none).toContain(`proxy ${absent} (absent)`)
      const stranger = refusal(
        cli(['list', gsiUrl(), '--method', method, ...quick, '--proxy', grid.untrustedProxy], {
          env: { X509_CERT_DIR: grid.certDir },
        }),
      )
      expect(stranger).toContain(`proxy ${grid.untrustedProxy} (valid until`)
    })
  }

  it('with --json and an output file, a refusal writes no listing', () => {
    const out = path.join(grid.dir, 'refused.tree')
    const r = cli(['list', gsiUrl(), '-o', out, '--json', ...quick, '--proxy', grid.expiredProxy], {
      env: { X509_CERT_DIR: grid.certDir },
    })
    refusal(r)
    expect(spawnSync('test', ['-e', out]).status).not.toBe(0)
  })
})

describe.skipIf(!canAuthenticate)('sss: a shared-secret keytab', () => {
  for (const method of methods.filter((m) => m !== 'gfal')) {
    it(`${method}: with the site's keytab, lists what find finds`, () => {
      const r = cli(['list', sssUrl(), '--method', method, ...quick, '--keytab', keytab])
      expect(r.code, r.stderr).toBe(0)
      expect(r.stdout.trim().split('\n')).toEqual(found(sss.data))
    })

    it(`${method}: a wrong keytab stops the listing at once, naming it`, () => {
      const line = refusal(cli(['list', sssUrl(), '--method', method, ...quick, '--keytab', wrongKeytab]))
      expect(line).toContain(`authentication failed at root://${sss.hostPort}`)
      expect(line).toContain(`keytab ${wrongKeytab}`)
    })

    it(`${method}: the keytab from the environment (XrdSecSSSKT)`, () => {
      const r = cli(['list', sssUrl(), '--method', method, ...quick], { env: { XrdSecSSSKT: keytab } })
      expect(r.code, r.stderr).toBe(0)
      expect(r.stdout.trim().split('\n')).toEqual(found(sss.data))
    })
  }
})

describe.skipIf(!canAuthenticate)('check of a site whose door requires a proxy', () => {
  /** The fixture site behind `server`, its credentials in Credentials; the check runs in a process of its own. */
  async function siteBehind(
    server: XrootdServer,
    door: string,
    label: string,
    credentials: Record<string, string>,
    method = 'XRootD',
  ) {
    const site = makeSite(label, {
      AccessMethod: { [SITE]: method },
      Redirectors: { [SITE]: door },
      UseLoadBalancer: [SITE],
      Credentials: { [SITE]: credentials },
      Timeout: 10,
      Retries: 1,
    })
    fs.rmSync(path.join(server.data, 'store'), { recursive: true, force: true })
    expect(spawnSync('cp', ['-a', `${site.storage}/.`, server.data]).status).toBe(0)
    config.setLocation(site.config)
    const db = openEmbeddedDatabase()
    await db.run('INSERT INTO sites (name) VALUES (?)', [SITE])
    await insertReplicas(
      db,
      inventoryRows().filter((x) => x.site === SITE),
    )
    await db.close()
    return site
  }
  const gsiSite = (label: string, proxy: string, method = 'XRootD') =>
    siteBehind(gsi, `localhost:${gsi.port}`, label, { proxy, certDir: grid.certDir }, method)

  /** The lists and figures of a check run through the CLI. */
  function checkLists(config: string) {
    const r = cli(['check', '--site', SITE, '--config', config, '--quiet', '--json'])
    expect(r.code, r.stderr).toBe(0)
    const summary = JSON.parse(r.stdout)
    const read = (kind: string) => fs.readFileSync(summary[kind].file, 'utf8')
    return {
      files: summary.files,
      unlisted: summary.unlisted.count,
      missing: read('missing'),
      orphan: read('orphan'),
      empty: read('empty'),
    }
  }

  for (const method of ['XRootD', 'directx']) {
    it(`${method}: with the site's proxy, the run finds what it finds on the local file system`, async () => {
      const site = await gsiSite(`check-gsi-${method}`, grid.proxy, method)
      const overGsi = checkLists(site.config)
      expect(overGsi.unlisted).toBe(0)
      expect(overGsi.missing.split('\n').length).toBeGreaterThan(1)
      // the same site on its local storage: the oracle
      const text = JSON.parse(fs.readFileSync(site.config, 'utf8'))
      fs.writeFileSync(site.config, JSON.stringify({ ...text, AccessMethod: { [SITE]: `local:${site.storage}` } }))
      expect(checkLists(site.config)).toEqual(overGsi)
    })
  }

  it("sss: with the site's keytab, the run finds what it finds on the local file system", async () => {
    const site = await siteBehind(sss, sss.hostPort, 'check-sss', { keytab })
    const overSss = checkLists(site.config)
    expect(overSss.unlisted).toBe(0)
    const text = JSON.parse(fs.readFileSync(site.config, 'utf8'))
    fs.writeFileSync(site.config, JSON.stringify({ ...text, AccessMethod: { [SITE]: `local:${site.storage}` } }))
    expect(checkLists(site.config)).toEqual(overSss)
  })

  it('sss: with a wrong keytab, check exits 4 naming it, the run recorded failed', async () => {
    const site = await siteBehind(sss, sss.hostPort, 'check-sss-wrong', { keytab: wrongKeytab })
    const r = cli(['check', '--site', SITE, '--config', site.config, '--quiet'])
    expect(r.code, r.stderr).toBe(4)
    expect(r.stderr.trim()).toMatch(
      new RegExp(`^dynamo-consistency: authentication failed at root://${sss.hostPort}: .*keytab ${wrongKeytab}\\)$`),
    )
    const store = await openSummary()
    try {
      expect((await store.history(SITE))[0]?.failed).toContain('Auth failed')
    } finally {
      await store.close()
    }
  })

  it('a proxy that will expire before a run as long as the last one ends: a warning in the log, the run and the page', async () => {
    const now = Date.now()
    const soon = proxyOf(grid, 'soon', new Date(now - 3_600_000), new Date(now + 3_600_000))
    const site = await gsiSite('check-gsi-soon', soon)
    const store = await openSummary()
    try {
      // the site's last run took two hours
      await store.addSites([SITE])
      const zeros = { files: 1, nodes: 1, empty: 0, missing: 0, missingSize: 0, orphan: 0, orphanSize: 0 }
      const figures = { ...zeros, nosource: 0, unrecoverable: 0, unlisted: 0, unlistedBad: 0, threads: 2 }
      const stats = { ...figures, unmerged: 0, unmergedSize: 0, heldBack: null }
      const time = Math.floor(now / 1000) - 86_400
      await store.recordRun(
        { site: SITE, time, duration: 7200, ...stats },
        time - 7200,
        {},
        {
          maxMissing: 10,
          maxOrphan: 10,
        },
      )
      const r = cli(['check', '--site', SITE, '--config', site.config, '--quiet', '--json'])
      expect(r.code, r.stderr).toBe(0)
      const runs = await store.history(SITE)
      const warning = runs[runs.length - 1]?.warning
      expect(warning).toMatch(
        new RegExp(
          `^proxy ${soon} expires at \\d{4}-\\d\\d-\\d\\dT[\\d:]+Z, in \\d+ s: before a run as long as the site's last one \\(7200 s\\) would end$`,
        ),
      )
      expect(fs.readFileSync(JSON.parse(r.stdout).log, 'utf8')).toContain(`warning: ${warning}`)
      const summary = (await store.sites()).find((s) => s.site === SITE)
      if (!summary) throw new Error(`${SITE} not in the summary store`)
      expect(sitePage(summary, runs, { now: now / 1000, refresh: 60 })).toContain(`Warning: proxy ${soon} expires at`)
      // the proxy that outlives such a run: no warning
      const text = JSON.parse(fs.readFileSync(site.config, 'utf8'))
      text.Credentials[SITE].proxy = grid.proxy
      fs.writeFileSync(site.config, JSON.stringify(text))
      expect(cli(['check', '--site', SITE, '--config', site.config, '--quiet']).code).toBe(0)
      expect((await store.history(SITE)).pop()?.warning).toBeNull()
    } finally {
      await store.close()
    }
  })

  it('with an expired proxy, the run is recorded failed, on the page and in /metrics, and check exits 4', async () => {
    const site = await gsiSite('check-gsi-expired', grid.expiredProxy)
    const r = cli(['check', '--site', SITE, '--config', site.config, '--quiet'])
    expect(r.code, r.stderr).toBe(4)
    expect(r.stdout).toBe('')
    const lines = r.stderr.trim().split('\n')
    expect(lines).toHaveLength(1)
    expect(lines[0]).toContain(`authentication failed at root://localhost:${gsi.port}`)
    expect(lines[0]).toContain(`proxy ${grid.expiredProxy} (expired 2020-01-02T00:00:00Z)`)
    const store = await openSummary()
    try {
      const [run] = await store.history(SITE)
      expect(run?.failed).toContain('authentication failed')
      expect([run?.files, run?.unlisted, run?.missing]).toEqual([0, 0, 0])
      const sites = await store.sites()
      const summary = sites.find((s) => s.site === SITE)
      if (!summary) throw new Error(`${SITE} not in the summary store`)
      const state = siteState(summary, Date.now() / 1000)
      expect(state.colour).toBe('red')
      expect(state.reasons[0]).toMatch(/^the last run failed: authentication failed at root:\/\/localhost/)
      expect(metricsText(sites, Date.now() / 1000)).toContain(`dynamo_consistency_last_run_failed{site="${SITE}"} 1`)
      // the site is ready for the next run, with a good proxy
      expect((await store.status(SITE))?.status).toBe('ready')
    } finally {
      await store.close()
    }
    const log = fs.readdirSync(path.join(site.var, 'logs', SITE))
    const text = fs.readFileSync(path.join(site.var, 'logs', SITE, log[0] as string), 'utf8')
    expect(text).toMatch(/run \d+ recorded as failed/)
  })
})
