/** The check with the site's storage behind a real XRootD server. */
import { spawnSync } from 'node:child_process'
import * as fs from 'node:fs'
import * as path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { EmbeddedBackend, openEmbeddedDatabase } from '../src/backends'
import { runCheck } from '../src/check'
import { config } from '../src/config'
import { EMPTY_DIR, insertReplicas, inventoryRows, makeSite, SITE, short } from './helpers/check-site'
import { cli } from './helpers/cli'
import { have, XrootdServer } from './helpers/xrootd-server'

const server = new XrootdServer()
const usable = have('xrootd')

beforeAll(async () => {
  if (usable) await server.start()
})

afterAll(async () => {
  config.setLocation(null)
  if (usable) await server.stop()
})

describe.skipIf(!usable)('check over XRootD', () => {
  it('finds the same lists as over the local file system', async () => {
    const site = makeSite('check-xrootd')
    // the storage, mtimes kept, behind the server
    expect(spawnSync('cp', ['-a', `${site.storage}/.`, server.data]).status).toBe(0)
    const text = JSON.parse(fs.readFileSync(site.config, 'utf8'))
    fs.writeFileSync(
      site.config,
      JSON.stringify({ ...text, AccessMethod: { [SITE]: 'XRootD' }, Redirectors: { [SITE]: server.hostPort } }),
    )
    config.setLocation(site.config)
    const db = openEmbeddedDatabase()
    await db.transaction(async (tx) => {
      for (const name of [SITE, 'T1_US_FNAL_Disk']) await tx.run('INSERT INTO sites (name) VALUES (?)', [name])
      await tx.run(`INSERT INTO sites (name, storage_type) VALUES ('T1_US_FNAL_MSS', 'mss')`)
      await insertReplicas(tx, inventoryRows())
    })
    const backend = new EmbeddedBackend(db)
    try {
      const report = await runCheck({ site: SITE, backend })
      expect(report?.stats.unlisted).toBe(0)
      // no veto rows in this inventory: DELETING is missing, and every dark file an orphan
      expect(report?.missing.map(short).sort()).toEqual([
        '0A3B.root',
        'DELETING.root',
        'LOST1.root',
        'LOST2.root',
        'LOST3.root',
      ])
      expect(report?.orphan.map(short).sort()).toEqual([
        '0A3B.root',
        'D1.root',
        'DARK1.root',
        'DARK2 with space.root',
        'P1.root',
        'T1.root',
        'XFER.root',
      ])
      expect(report?.empty[0]).toBe(EMPTY_DIR)
      expect(fs.existsSync(path.join(site.web, `${SITE}_compare_orphan.txt`))).toBe(true)
      // the log says where the listing went: the door, and the server it named
      expect(fs.readFileSync(report?.log as string, 'utf8')).toContain(
        `storage: root://${server.hostPort}/ (native, 2 connections over ${server.hostPort})`,
      )
    } finally {
      await backend.close()
    }
  })
})

describe('check over a dead door', () => {
  it('records the run, calls nothing missing, and exits 3', async () => {
    const site = makeSite('check-dead-door', {
      AccessMethod: { [SITE]: 'XRootD' },
      // nothing listens on port 1
      Redirectors: { [SITE]: '127.0.0.1:1' },
      Timeout: 2,
      Retries: 0,
    })
    config.setLocation(site.config)
    const db = openEmbeddedDatabase()
    await db.run('INSERT INTO sites (name) VALUES (?)', [SITE])
    await insertReplicas(
      db,
      inventoryRows().filter((x) => x.site === SITE),
    )
    await db.close()
    const r = cli(['check', '--site', SITE, '--config', site.config, '--quiet'])
    expect(r.code).toBe(3)
    expect(r.stdout).toMatch(/missing: +0 files/)
    expect(r.stderr).toMatch(/no top directory of its storage could be listed/)
  }, 60_000)
})
