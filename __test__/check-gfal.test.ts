/**
 * The check of a site listed by gfal (`AccessMethod: SRM`), its door a
 * `file://` URL (gfal's file plugin): the listing sees every file a local
 * listing of the same storage sees, by the same LFNs, and the run records the threads it was
 * listed with (`GFALThreads`, not `NumThreads`).
 */
import * as fs from 'node:fs'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { EmbeddedBackend, openEmbeddedDatabase, type SqliteSql } from '../src/backends'
import { runCheck } from '../src/check'
import { config } from '../src/config'
import { openSummary } from '../src/summary/store'
import { insertReplicas, inventoryRows, makeSite, SITE, type SiteSetup } from './helpers/check-site'

let site: SiteSetup
let db: SqliteSql

beforeEach(async () => {
  site = makeSite('check-gfal', { NumThreads: 2, GFALThreads: 3 })
  config.setLocation(site.config)
  db = openEmbeddedDatabase()
  await db.transaction(async (tx) => {
    await tx.run(`INSERT INTO sites (name, storage_type) VALUES (?, 'disk')`, [SITE])
    await insertReplicas(
      tx,
      inventoryRows().filter((r) => r.site === SITE),
    )
  })
})

afterEach(async () => {
  await db.close()
  config.setLocation(null)
})

/** Reach the site's storage through `access` (and `door`, when given). */
function reach(access: string, door?: string): void {
  const values = JSON.parse(fs.readFileSync(site.config, 'utf8'))
  values.AccessMethod = { [SITE]: access }
  if (door) values.Redirectors = { [SITE]: door }
  fs.writeFileSync(site.config, JSON.stringify(values))
  config.setLocation(site.config)
}

async function check() {
  const backend = new EmbeddedBackend(openEmbeddedDatabase())
  try {
    const report = await runCheck({ site: SITE, backend, haltPollSeconds: 0.1 })
    if (!report) throw new Error('no site was checked')
    return report
  } finally {
    await backend.close()
  }
}

describe('check of a gfal site', () => {
  it('lists the storage through gfal-ls and records GFALThreads', async () => {
    reach(`local:${site.storage}`)
    const local = await check()
    expect(local.stats.threads).toBe(2)
    expect(local.stats.files).toBeGreaterThan(0)

    reach('SRM', `file://${site.storage}`)
    const gfal = await check()
    expect(fs.readFileSync(gfal.log, 'utf8')).toContain('(gfal, 3 connections)')
    expect(gfal.stats.unlisted).toBe(0)
    expect(gfal.stats.files).toBe(local.stats.files)
    // named by LFN below the door's path: the same findings as the local listing's
    expect(local.missing.length + local.orphan.length).toBeGreaterThan(0)
    expect({ missing: gfal.missing, orphan: gfal.orphan, empty: gfal.empty }).toEqual({
      missing: local.missing,
      orphan: local.orphan,
      empty: local.empty,
    })
    expect(gfal.stats.threads).toBe(3)
    const store = await openSummary()
    try {
      expect((await store.history(SITE)).map((r) => r.threads)).toEqual([2, 3])
    } finally {
      await store.close()
    }
  }, 120_000)
})
