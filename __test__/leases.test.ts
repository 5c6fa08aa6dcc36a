/**
 * Workers on several hosts share sites through leases in the summary
 * store: a running check renews its lease; another worker, on any host,
 * takes a site only once its lease has expired; a worker that lost its
 * lease stops and leaves the site to its new holder.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import * as fs from 'node:fs'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { EmbeddedBackend, openEmbeddedDatabase } from '../src/backends'
import { HaltedError, runCheck } from '../src/check'
import { config } from '../src/config'
import { openSummary } from '../src/summary/store'
import { makeSite, SITE, type SiteSetup } from './helpers/check-site'
import { CLI, cli } from './helpers/cli'
import { silentServer } from './helpers/xrootd-server'

const LEASE = 3
const KEEP = '/store/mc/RunIISummer20UL18/Lease_TuneCP5/AODSIM/106X_upgrade2018-v2/10000/KEEP.root'

let site: SiteSetup
let door: Awaited<ReturnType<typeof silentServer>>
const children: ChildProcess[] = []

function configure(extra: Record<string, unknown>): void {
  const text = JSON.parse(fs.readFileSync(site.config, 'utf8'))
  fs.writeFileSync(site.config, JSON.stringify({ ...text, ...extra }))
  config.setLocation(site.config)
}

async function lease(): Promise<{ status: string; owner: string | null; until: number | null; host: string | null }> {
  const store = await openSummary()
  try {
    const r = (
      await store.db.all<{
        status: string
        lease_owner: string | null
        lease_until: number | null
        run_host: string | null
      }>('SELECT status, lease_owner, lease_until, run_host FROM site_status WHERE site = ?', [SITE])
    )[0]
    return {
      status: r?.status ?? '',
      owner: r?.lease_owner ?? null,
      until: r?.lease_until ?? null,
      host: r?.run_host ?? null,
    }
  } finally {
    await store.close()
  }
}

/** Wait, at most `seconds`, until `done` holds. */
async function until(done: () => Promise<boolean>, seconds: number): Promise<void> {
  const end = Date.now() + seconds * 1000
  while (!(await done())) {
    if (Date.now() > end) throw new Error(`not within ${seconds} s`)
    await new Promise((r) => setTimeout(r, 100))
  }
}

beforeEach(async () => {
  door = await silentServer()
  site = makeSite('lease', { LeaseSeconds: LEASE, Timeout: 120, Retries: 0 })
  config.setLocation(site.config)
  const db = openEmbeddedDatabase()
  await db.run('INSERT INTO sites (name) VALUES (?)', [SITE])
  await db.run(`INSERT INTO replicas (site, lfn, size, block, grp, complete) VALUES (?, ?, 10, '', 'DataOps', 1)`, [
    SITE,
    KEEP,
  ])
  await db.close()
})

afterEach(async () => {
  for (const c of children.splice(0)) c.kill('SIGKILL')
  await door.close()
  config.setLocation(null)
})

describe('leases', () => {
  it("keeps a running site from other hosts' workers, and hands a dead worker's site over once its lease expired", async () => {
    // worker A's listing hangs on a door that never answers
    configure({ AccessMethod: { [SITE]: 'XRootD' }, Redirectors: { [SITE]: `127.0.0.1:${door.port}` } })
    const a = spawn(process.execPath, [CLI, 'check', '--site', SITE, '--config', site.config, '--quiet'], {
      env: { ...process.env, DYNAMO_CONSISTENCY_HOST: 'host-a' },
      stdio: 'ignore',
    })
    children.push(a)
    await until(async () => (await lease()).status === 'running', 20)
    const first = await lease()
    expect(first.host).toBe('host-a')
    // longer than a lease: A renews it, and a worker on another host finds nothing to do
    await new Promise((r) => setTimeout(r, 2 * LEASE * 1000))
    expect(((await lease()).until ?? 0) > (first.until ?? 0)).toBe(true)
    const b = cli(['check', '--site', SITE, '--config', site.config], { env: { DYNAMO_CONSISTENCY_HOST: 'host-b' } })
    expect(b.stdout).toMatch(/no ready site matches/)
    // A dies without a word: its lease still holds for a moment
    a.kill('SIGKILL')
    await new Promise((r) => a.once('exit', r))
    const held = await lease()
    expect(held.status).toBe('running')
    expect(held.until as number).toBeGreaterThanOrEqual(Math.floor(Date.now() / 1000))
    const c = cli(['check', '--site', SITE, '--config', site.config], { env: { DYNAMO_CONSISTENCY_HOST: 'host-b' } })
    expect(c.stdout).toMatch(/no ready site matches/)
    // once it expired, a worker on host B takes the site over (its storage now reachable)
    await until(async () => ((await lease()).until ?? 0) < Math.floor(Date.now() / 1000), LEASE + 5)
    configure({ AccessMethod: { [SITE]: `local:${site.storage}` } })
    const d = cli(['check', '--site', SITE, '--config', site.config, '--quiet'], {
      env: { DYNAMO_CONSISTENCY_HOST: 'host-b' },
    })
    expect(d.stderr).toBe('')
    expect(d.stdout).toMatch(/T2_US_MIT \(dry\)/)
    const after = await lease()
    expect(after).toEqual({ status: 'ready', owner: null, until: null, host: null })
    const store = await openSummary()
    try {
      expect((await store.history(SITE)).length).toBe(1)
    } finally {
      await store.close()
    }
  }, 60_000)

  it('stops a worker whose lease another took, and leaves the site to its new holder', async () => {
    configure({ AccessMethod: { [SITE]: `local:${site.storage}` } })
    const backend = new EmbeddedBackend(openEmbeddedDatabase())
    try {
      const run = runCheck({
        site: SITE,
        backend,
        haltPollSeconds: 0.1,
        afterRemoteListing: async () => {
          // as if this worker had stalled past its lease and another had taken the site
          const store = await openSummary()
          await store.db.run(`UPDATE site_status SET lease_owner = 'host-c:1:other', lease_until = ? WHERE site = ?`, [
            Math.floor(Date.now() / 1000) + 600,
            SITE,
          ])
          await store.close()
          await new Promise((r) => setTimeout(r, LEASE * 1000))
        },
      })
      await expect(run).rejects.toBeInstanceOf(HaltedError)
      await expect(run).rejects.toThrow(/lease/)
    } finally {
      await backend.close()
    }
    const after = await lease()
    expect(after.owner).toBe('host-c:1:other')
    expect(after.status).toBe('running')
  }, 30_000)
})
