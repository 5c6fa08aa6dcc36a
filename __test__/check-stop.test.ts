/**
 * Stopping a running check in each of its phases: SIGINT, SIGTERM or
 * `set-status SITE halt` ends the `check` command within 5 s whatever the
 * phase waits on (a slow storage door, a redirector that never answers, a
 * table lock in the inventory database, a slow report), the site goes back
 * to `ready` after a signal and stays `halt` after a halt, and nothing of
 * the run is recorded.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import * as fs from 'node:fs'
import * as path from 'node:path'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { EmbeddedBackend, openEmbeddedDatabase, SqliteSql } from '../src/backends'
import { HaltedError, runCheck } from '../src/check'
import { config } from '../src/config'
import { CancelledError } from '../src/errors'
import { nativeTask, Tree } from '../src/native'
import { openSummary } from '../src/summary/store'
import { insertReplicas, inventoryRows, makeSite, SITE, type SiteSetup } from './helpers/check-site'
import { CLI, cli, writeFile } from './helpers/cli'
import { loadDynamo } from './helpers/dynamo'
import { type MariaDb, skipUnlessStrict, startMariaDb } from './helpers/mariadb'
import { have, silentServer, slowProxy, XrootdServer } from './helpers/xrootd-server'

/** How long a stop may take, from the signal or the halt to the end of the process. */
const STOP_MS = 5_000
/** A check still running this long after its stop is killed (and fails the test). */
const KILL_MS = 15_000

type Trigger = 'SIGINT' | 'SIGTERM' | 'halt'

/**
 * Run `check` in a process of its own, wait until its log shows `phase`
 * (and a moment more, to be inside the phase), then stop it by `trigger`.
 */
async function stopCheck(configFile: string, phase: RegExp, trigger: Trigger) {
  const child: ChildProcess = spawn(process.execPath, [CLI, 'check', '--site', SITE, '--config', configFile])
  let stderr = ''
  let stdout = ''
  child.stdout?.on('data', (d) => {
    stdout += d
  })
  const done = new Promise<number>((resolve) => child.on('close', (code) => resolve(code ?? -1)))
  const inPhase = new Promise<boolean>((resolve) => {
    child.stderr?.on('data', (d) => {
      stderr += d
      if (phase.test(stderr)) resolve(true)
    })
    void done.then(() => resolve(false))
  })
  const killer = setTimeout(() => child.kill('SIGKILL'), 30_000)
  try {
    expect(await inPhase, `the check never reached ${phase}:\n${stderr}${stdout}`).toBe(true)
    await new Promise((r) => setTimeout(r, 500))
    const t0 = Date.now()
    if (trigger === 'halt') expect(cli(['set-status', SITE, 'halt', '--config', configFile]).code).toBe(0)
    else child.kill(trigger)
    clearTimeout(killer)
    const late = setTimeout(() => child.kill('SIGKILL'), KILL_MS)
    const code = await done
    clearTimeout(late)
    return { code, ms: Date.now() - t0, stderr, stdout }
  } finally {
    clearTimeout(killer)
    child.kill('SIGKILL')
  }
}

/** The site's status and how many runs it has recorded, from the summary store. */
async function siteState(configFile: string): Promise<{ status?: string; runs: number }> {
  config.setLocation(configFile)
  const store = await openSummary()
  try {
    const status = (await store.status(SITE))?.status
    return { ...(status ? { status } : {}), runs: (await store.history(SITE)).length }
  } finally {
    await store.close()
  }
}

/** The fixture site's inventory in the embedded store. */
async function loadEmbedded(configFile: string, rows = inventoryRows()): Promise<void> {
  config.setLocation(configFile)
  const db = openEmbeddedDatabase()
  try {
    await db.transaction(async (tx) => {
      await tx.run('INSERT INTO sites (name) VALUES (?)', [SITE])
      await insertReplicas(
        tx,
        rows.filter((r) => r.site === SITE),
      )
    })
  } finally {
    await db.close()
  }
}

/** Rewrite keys of a site's configuration file. */
function configure(site: SiteSetup, keys: Record<string, unknown>): void {
  const text = JSON.parse(fs.readFileSync(site.config, 'utf8'))
  fs.writeFileSync(site.config, JSON.stringify({ ...text, ...keys }))
}

const sites: SiteSetup[] = []
function newSite(label: string): SiteSetup {
  const site = makeSite(label)
  sites.push(site)
  return site
}

afterAll(() => {
  config.setLocation(null)
  for (const s of sites) fs.rmSync(s.dir, { recursive: true, force: true })
})

const usable = have('xrootd')

describe.skipIf(!usable)('stopping the storage phase', () => {
  const server = new XrootdServer()
  let proxy: Awaited<ReturnType<typeof slowProxy>> | undefined

  beforeAll(async () => {
    // 100 directories behind a door that answers one request every 400 ms a
    // connection: two connections take 20 s to list them
    for (let i = 0; i < 100; i++) writeFile(path.join(server.data, 'store/mc/Run/DS', `d${i}`, 'f.root'), 10)
    await server.start()
    proxy = await slowProxy(server.port, 400)
  })

  afterAll(async () => {
    await proxy?.close()
    await server.stop()
  })

  it('SIGINT stops the storage listing within seconds and the site goes back to ready', async () => {
    const site = newSite('stop-listing')
    configure(site, {
      AccessMethod: { [SITE]: 'XRootD' },
      Redirectors: { [SITE]: `127.0.0.1:${proxy?.port}` },
      UseLoadBalancer: [SITE],
      NumThreads: 2,
      Timeout: 120,
    })
    await loadEmbedded(site.config)
    const r = await stopCheck(site.config, /storage: root:\/\//, 'SIGINT')
    expect(r.ms).toBeLessThan(STOP_MS)
    expect(r.code).toBe(1)
    expect(r.stderr).toMatch(/stopped: received SIGINT/)
    expect(await siteState(site.config)).toEqual({ status: 'ready', runs: 0 })
  })

  it('SIGTERM stops the door lookup (locate) of a redirector that never answers', async () => {
    const silent = await silentServer()
    try {
      const site = newSite('stop-locate')
      // no door of its own: the site is looked for through the global redirector
      configure(site, { AccessMethod: { [SITE]: 'XRootD' }, GlobalRedirectors: [`127.0.0.1:${silent.port}`] })
      await loadEmbedded(site.config)
      const r = await stopCheck(site.config, /listing \/store\//, 'SIGTERM')
      expect(r.ms).toBeLessThan(STOP_MS)
      expect(r.code).toBe(1)
      expect(r.stderr).toMatch(/stopped: received SIGTERM/)
      expect(await siteState(site.config)).toEqual({ status: 'ready', runs: 0 })
    } finally {
      await silent.close()
    }
  })
})

describe('stopping the embedded inventory listing', () => {
  it('interrupts the query at once, with a signal that served an earlier native task', async () => {
    const db = new SqliteSql(':memory:')
    try {
      const run = new AbortController()
      // the run's signal served the first inventory listing
      await nativeTask('a first listing', run.signal, (s) =>
        db.native.fillTreeAsync(new Tree(0), `SELECT '/store/a.root', 1, 0`, [], s),
      )
      // 30 million steps that give one row at their end: seconds of work
      const slow = `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 30000000)
        SELECT '/store/b.root', 1, 0 FROM n WHERE i = 30000000`
      const tree = new Tree(0)
      const listing = nativeTask('the inventory listing', run.signal, (s) => db.native.fillTreeAsync(tree, slow, [], s))
      await new Promise((r) => setTimeout(r, 300))
      const t0 = Date.now()
      run.abort(new Error('received SIGINT'))
      await expect(listing).rejects.toBeInstanceOf(CancelledError)
      expect(Date.now() - t0).toBeLessThan(STOP_MS)
      expect(tree.fileCount).toBe(0)
      // the connection serves the next statement
      expect(await db.all('SELECT 1 AS one')).toEqual([{ one: 1 }])
    } finally {
      await db.close()
    }
  })
})

describe('stopping the inventory queries', () => {
  let server: MariaDb | undefined

  beforeAll(async () => {
    server = await startMariaDb()
  })

  afterAll(async () => {
    await server?.stop()
  })

  afterEach(() => {
    config.setLocation(null)
  })

  it('a halt stops a vetoes query that waits on a table lock, and the site stays halted', async (context) => {
    const db = server as MariaDb
    skipUnlessStrict(db, context)
    loadDynamo(db)
    const site = newSite('stop-queries')
    configure(site, {
      InventoryBackend: 'dynamo',
      DynamoDatabase: `${db.url}/${db.db('dynamo')}`,
      DynamoRegistry: `${db.url}/${db.db('dynamoregister')}`,
    })
    const mysql = require('mysql2/promise') as typeof import('mysql2/promise')
    const locker = await mysql.createConnection(`${db.url}/${db.db('dynamo')}`)
    try {
      // the file listings pass; the protected datasets wait for this lock
      await locker.query('LOCK TABLES datasets WRITE')
      const r = await stopCheck(site.config, /inventory again: /, 'halt')
      expect(r.ms).toBeLessThan(STOP_MS)
      expect(r.code).toBe(1)
      expect(r.stderr).toMatch(/stopped: site set to halt/)
    } finally {
      await locker.end()
    }
    expect(await siteState(site.config)).toEqual({ status: 'halt', runs: 0 })
  })
})

describe('stopping the comparison and the report', () => {
  let site: SiteSetup

  /** The check in this process, on the fixture site, stopped by `controller`. */
  async function check(controller: AbortController, hooks: Parameters<typeof runCheck>[0]) {
    site = newSite('stop-report')
    await loadEmbedded(site.config)
    config.setLocation(site.config)
    const backend = new EmbeddedBackend(openEmbeddedDatabase())
    const lines: string[] = []
    const t = { stopped: 0 }
    try {
      const run = runCheck({
        ...hooks,
        signal: controller.signal,
        backend,
        haltPollSeconds: 0.1,
        onLog: (l) => lines.push(l),
      })
      controller.signal.addEventListener('abort', () => {
        t.stopped = Date.now()
      })
      await expect(run).rejects.toBeInstanceOf(HaltedError)
    } finally {
      await backend.close()
    }
    return { ms: Date.now() - t.stopped, lines }
  }

  it('a stop after the storage listing ends the run before the comparison', async () => {
    const controller = new AbortController()
    const r = await check(controller, {
      site: SITE,
      afterRemoteListing: () => controller.abort(new Error('received SIGINT')),
    })
    expect(r.ms).toBeLessThan(STOP_MS)
    expect(r.lines.join('\n')).not.toMatch(/missing \d+ \(/)
    expect(await siteState(site.config)).toEqual({ status: 'ready', runs: 0 })
  })

  it('a stop in a slow report rolls the record back within seconds', async () => {
    const controller = new AbortController()
    let slow: NodeJS.Timeout | undefined
    const r = await check(controller, {
      site: SITE,
      // the first kind of finding is written; the report then takes 30 s
      duringReport: async () => {
        if (slow) return
        controller.abort(new Error('received SIGTERM'))
        await new Promise((resolve) => {
          slow = setTimeout(resolve, 30_000)
        })
      },
    })
    clearTimeout(slow)
    expect(r.ms).toBeLessThan(STOP_MS)
    expect(await siteState(site.config)).toEqual({ status: 'ready', runs: 0 })
    const store = await openSummary()
    try {
      expect(await store.findings(SITE, 'missing')).toEqual([])
    } finally {
      await store.close()
    }
  })
})
