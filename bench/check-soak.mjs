// Soak of the check under races and faults: the rounds of
// `__test__/check-race.test.ts`, many more of them. A site of CMS-like files
// is exported by a local `xrootd` behind a proxy that delays every request
// by 5 ms; the embedded SQLite inventory holds it; the site is marked `act`.
// Each round runs the check twice while a mutator creates, deletes, rewrites
// in place, resizes and renames files and directories on storage and, a
// moment later, in the inventory; in each run the server may be killed (and
// started again up to 3 s later) or stopped past `Timeout` while the
// storage is listed. Every run is judged by the oracle of
// `__test__/helpers/race.mjs`: untouched files never missing or orphans, no
// deletion request for a path the inventory held during the run (nor a
// directory above one), every true missing file and orphan outside unlisted
// directories found, and, while the server stays up, nothing unlisted but
// directories that left storage during the run. Each round goes through a
// new door (a new proxy). Exits non-zero when any run fails.
//
// Needs the built dist/ (`npm run build:ts`).
//
// Standalone: node bench/check-soak.mjs [--rounds N] [--seed S]
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import { fileURLToPath } from 'node:url'
import {
  describeFailures,
  loadInventory,
  Mutator,
  makeRng,
  RaceSite,
  raceConfig,
  raceRun,
  restartablePort,
} from '../__test__/helpers/race.mjs'
import { startSlowProxy } from '../__test__/helpers/slow-proxy.mjs'
import { fmt, ROOT, table } from './lib.mjs'
import { startXrootd } from './xrootd.mjs'

const SITE = 'T2_US_SOAK'
const TIMEOUT_S = 1
const RETRIES = 1
const PAUSE_MS = TIMEOUT_S * (RETRIES + 1) * 1000 + 700
/** Failures printed in full (the rest are counted). */
const SHOWN = 20

/** @param {number} pid */
async function exited(pid) {
  for (let i = 0; i < 500; i++) {
    try {
      process.kill(pid, 0)
    } catch {
      return
    }
    await new Promise((r) => setTimeout(r, 10))
  }
  throw new Error(`xrootd ${pid} did not exit`)
}

/** The benchmark's xrootd as the fault injector sees it: killed, started again on its port, stopped, continued. */
async function faultServer(work, data) {
  const port = await restartablePort()
  let srv = await startXrootd(work, data, port)
  return {
    port,
    async kill() {
      srv.stop()
      await exited(srv.pid)
    },
    async start() {
      srv = await startXrootd(work, data, port)
    },
    pause() {
      process.kill(srv.pid, 'SIGSTOP')
    },
    resume() {
      process.kill(srv.pid, 'SIGCONT')
    },
    async stop() {
      try {
        process.kill(srv.pid, 'SIGCONT')
      } catch {}
      srv.stop()
      await exited(srv.pid).catch(() => undefined)
    },
  }
}

/**
 * @param {{ rounds?: number, seed?: number, log?: (line: string) => void }} [options]
 * @returns {Promise<{ markdown: string, rows: object[], ok: boolean, failures: string[] }>}
 */
export async function soak({ rounds = 20, seed = 1, log = () => {} } = {}) {
  const dist = (/** @type {string} */ p) => path.join(ROOT, 'dist', p)
  const { runCheck } = await import(dist('check/index.js'))
  const { EmbeddedBackend, openEmbeddedDatabase } = await import(dist('backends/index.js'))
  const { config } = await import(dist('config.js'))
  const { openSummary } = await import(dist('summary/store.js'))

  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'dc-bench-soak-'))
  fs.chmodSync(work, 0o755)
  const data = path.join(work, 'data')
  fs.mkdirSync(data)
  const rng = makeRng(seed + 1000)
  const site = new RaceSite(data, { seed })
  const rows = site.build()
  const server = await faultServer(work, data)
  const file = path.join(work, 'config.json')
  let proxy = null
  // each round through a new door (a new proxy on a port of its own): XrdCl's connections are the
  // process's, one per user name and door, and none that a fault left behind is met again
  const newDoor = async () => {
    await proxy?.close()
    proxy = await startSlowProxy(server.port, 5)
    fs.writeFileSync(
      file,
      JSON.stringify(
        raceConfig({ site: SITE, door: `127.0.0.1:${proxy.port}`, dir: work, timeout: TIMEOUT_S, retries: RETRIES }),
      ),
    )
    config.setLocation(file)
    return proxy.requests
  }
  let backend = null
  const t0 = Date.now()
  const totals = {
    runs: 0,
    kills: 0,
    pauses: 0,
    unlisted: 0,
    untouchedWrong: 0,
    wrongDeletions: 0,
    notFound: 0,
    unexplained: 0,
    checked: 0,
    deletions: 0,
    trueOrphansRequested: 0,
  }
  const failures = []
  let mutator = null
  try {
    await newDoor()
    const db = openEmbeddedDatabase()
    await loadInventory(db, SITE, rows)
    const store = await openSummary()
    try {
      await store.setStatus(SITE, 'act')
    } finally {
      await store.close()
    }
    backend = new EmbeddedBackend(db)
    mutator = new Mutator(site, db, SITE, { seed: seed + 1 })
    for (let round = 1; round <= rounds; round++) {
      const requests = await newDoor()
      site.addTraps(2)
      for (let run = 1; run <= 2; run++) {
        const k = rng.int(0, 2)
        const fault = k === 0 ? null : k === 1 ? 'kill' : 'pause'
        const r = await raceRun({
          site,
          mutator,
          db,
          siteName: SITE,
          round,
          run,
          check: (afterRemoteListing) => runCheck({ site: SITE, backend, afterRemoteListing, haltPollSeconds: 0.2 }),
          fault,
          server,
          requests,
          timing: { afterRequests: rng.int(5, 200), downMs: rng.int(100, 3000), pauseMs: PAUSE_MS },
        })
        const v = r.verdict
        totals.runs++
        if (r.fault && fault === 'kill') totals.kills++
        if (r.fault && fault === 'pause') totals.pauses++
        totals.unlisted += r.unlisted.length
        totals.untouchedWrong += v.untouchedWrong.length
        totals.wrongDeletions += v.wrongDeletions.length
        totals.notFound += v.notFound.length
        totals.unexplained += v.unexplainedUnlisted.length
        totals.checked += v.checked.missing + v.checked.orphan
        totals.deletions += v.deletions
        totals.trueOrphansRequested += v.trueOrphansRequested
        failures.push(...describeFailures(r))
        log(
          `round ${round} run ${run}: ${fmt(r.seconds, 1)} s, server ${r.fault ?? 'up'}, ${r.unlisted.length} unlisted, ` +
            `${r.report.missing.length} missing, ${r.report.orphan.length} orphans, ${v.deletions} deletions; ` +
            `wrong: ${v.untouchedWrong.length} untouched, ${v.wrongDeletions.length} deletions, ${v.notFound.length} not found, ` +
            `${v.unexplainedUnlisted.length} unlisted with the server up`,
        )
      }
    }
  } finally {
    await backend?.close()
    await proxy?.close()
    await server.stop()
    config.setLocation(null)
    fs.rmSync(work, { recursive: true, force: true })
  }
  const ok = totals.untouchedWrong === 0 && totals.wrongDeletions === 0 && totals.notFound === 0
  const resultRows = [
    {
      rounds,
      runs: totals.runs,
      mutations: mutator?.total ?? 0,
      'racing the listing': mutator?.duringListing ?? 0,
      'faults injected': `${totals.kills + totals.pauses} (${totals.kills} kills, ${totals.pauses} stops)`,
      'unlisted directories': totals.unlisted,
      'false verdicts on untouched files': totals.untouchedWrong,
      'wrong deletion requests': totals.wrongDeletions,
      'true findings not found': totals.notFound,
      'true findings checked': totals.checked,
      'unlisted with the server up': totals.unexplained,
      'deletion requests': totals.deletions,
      s: fmt((Date.now() - t0) / 1000, 0),
    },
  ]
  const kinds = Object.entries(mutator?.counts ?? {})
    .map(([k, n]) => `${k} ${n}`)
    .join(', ')
  const markdown = [
    `Site: ${site.untouched.size} untouched files, ${site.trueMissing.size} true missing, ${site.trueOrphans.size} true orphans; mutations: ${kinds}.`,
    '',
    table(resultRows),
    ...(failures.length
      ? [
          '',
          `Failures (${failures.length}${failures.length > SHOWN ? `, the first ${SHOWN}` : ''}):`,
          '',
          ...failures.slice(0, SHOWN).map((f) => `- ${f}`),
        ]
      : []),
  ].join('\n')
  return { markdown, rows: resultRows, ok, failures }
}

/** For bench/run.mjs: 20 rounds (4 with --quick, 100 with --big); fails when a run is judged wrong. */
export async function run({ quick = false, big = false } = {}) {
  const result = await soak({ rounds: quick ? 4 : big ? 100 : 20 })
  if (!result.ok) throw new Error(`the check failed under races and faults:\n${result.markdown}`)
  return { name: 'soak', ...result }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const args = process.argv.slice(2)
  const value = (/** @type {string} */ flag, /** @type {number} */ fallback) => {
    const i = args.indexOf(flag)
    const v = i === -1 ? undefined : Number(args[i + 1])
    if (v !== undefined && !(Number.isInteger(v) && v > 0)) {
      console.error(`${flag} needs a positive whole number`)
      process.exit(2)
    }
    return v ?? fallback
  }
  const result = await soak({
    rounds: value('--rounds', 20),
    seed: value('--seed', 1),
    log: (line) => console.error(line),
  })
  console.log(result.markdown)
  process.exitCode = result.ok ? 0 : 1
}
