// The race and fault harness of the check: a site of CMS-like files on a
// storage tree exported by XRootD and in the embedded inventory, a mutator
// that changes storage and, a moment later, the inventory while the check
// runs, server faults during the listing, and the oracle that judges every
// run.
//
// Files of the site:
//
// - untouched: in the inventory and on storage, never changed; never missing,
//   never an orphan, never requested for deletion;
// - true missing: in the inventory, never on storage; found in every run
//   unless a directory above them was unlisted;
// - true orphans: on storage with an old mtime, never in the inventory; found
//   likewise;
// - mutable: in both, and changed by the mutator (created, deleted, rewritten
//   in place, resized, renamed, their directories renamed or deleted);
// - traps: old empty directories that a file lands in (on storage and in the
//   inventory) between the storage listing and the second inventory listing.
//
// A deletion request is wrong when it names a path the inventory held at any
// time during the run (changes the run began included), or a directory above
// one. The site's deletion agent takes each run's requests away after the run
// (and deletes nothing), so each run's requests are seen in full. In a run
// the server stayed up for, a directory may be unlisted only when it left
// storage (removed or renamed) during the run.
//
// Shared by the tests (`check-race.test.ts`) and the soak benchmark
// (`bench/check-soak.mjs`); nothing here imports the project's own code:
// the check, the database and the server are handed in.
import * as fs from 'node:fs'
import * as net from 'node:net'
import * as path from 'node:path'

/** mtime of old files (2017): far older than any IgnoreAge. */
export const OLD = 1_500_000_000
/** XProtocol's kXR_dirlist request id, as the slow proxy counts requests. */
export const KXR_DIRLIST = 3004

/**
 * @typedef {{ run(sql: string, params?: readonly (string | number | null)[]): Promise<unknown>,
 *   all<T = Record<string, unknown>>(sql: string, params?: readonly (string | number | null)[]): Promise<T[]>,
 *   transaction<T>(fn: (tx: Db) => Promise<T>): Promise<T> }} Db
 * The inventory database (the embedded SQLite store's `SqliteSql`).
 */

/**
 * @typedef {{ kill(): Promise<void>, start(): Promise<void>, pause(): void, resume(): void }} FaultServer
 * The XRootD server behind the site: killed and started again on its port,
 * or stopped (SIGSTOP) and continued.
 */

/** @typedef {'kill' | 'pause' | null} FaultKind */

/**
 * @typedef {{ missing: string[], orphan: string[], empty: string[], reporting: string,
 *   outputs: Record<string, string> }} CheckReportLike
 * The parts of the check's report the oracle reads.
 */

/**
 * @typedef {object} Verdict
 * @property {{ lfn: string, as: 'missing' | 'orphan', history: string }[]} untouchedWrong (a)
 * @property {{ lfn: string, why: string, history: string }[]} wrongDeletions (b)
 * @property {{ lfn: string, as: 'missing' | 'orphan' }[]} notFound (c)
 * @property {string[]} unexplainedUnlisted (d) directories unlisted in a run the server stayed up for,
 *   that were neither removed nor renamed on storage during it
 * @property {{ missing: number, orphan: number }} checked true findings in listed directories
 * @property {number} deletions deletion requests of the run
 * @property {number} trueOrphansRequested of them, for true orphans
 */

/** @param {number} ms */
export const sleep = (ms) => new Promise((r) => setTimeout(r, ms))

/** @param {number} port */
function canListen(port) {
  return new Promise((resolve) => {
    const s = net.createServer()
    s.once('error', () => resolve(false))
    s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)))
  })
}

/**
 * A free loopback port below the kernel's ephemeral range, for a server
 * that is killed and started again on it: while it is down, a connection
 * to a port in that range can be given the very same port as its own and
 * connect to itself (one in some ten thousand tries here), holding the
 * port so that the server cannot listen on it again.
 */
export async function restartablePort() {
  let low = 32768
  try {
    low = Number(fs.readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]) || low
  } catch {}
  const from = Math.min(10_000, Math.floor(low / 2))
  for (let i = 0; i < 200; i++) {
    const port = from + Math.floor(Math.random() * (low - from))
    if (await canListen(port)) return port
  }
  throw new Error(`no free port below ${low}`)
}

/**
 * A small seeded generator (mulberry32): the same seed gives the same site
 * and the same choices (their timing still varies).
 * @param {number} seed
 */
export function makeRng(seed) {
  let a = seed >>> 0
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
  return {
    next,
    /** @param {number} lo @param {number} hi an integer in [lo, hi] */
    int: (lo, hi) => lo + Math.floor(next() * (hi - lo + 1)),
    /** @template T @param {readonly T[]} list @returns {T} */
    pick: (list) => /** @type {any} */ (list[Math.floor(next() * list.length)]),
    /** CMS file names are upper-case UUIDs. */
    uuid: () => {
      const hex = () => Math.floor(next() * 16).toString(16)
      const part = (/** @type {number} */ n) => Array.from({ length: n }, hex).join('')
      return `${part(8)}-${part(4)}-4${part(3)}-${'89AB'[Math.floor(next() * 4)]}${part(3)}-${part(12)}`.toUpperCase()
    },
  }
}

/** @typedef {ReturnType<typeof makeRng>} Rng */

const MC = [
  ['RunIISummer20UL18MiniAODv2', 'MINIAODSIM', '106X_upgrade2018_realistic_v16_L1v1-v2'],
  ['RunIISummer20UL17MiniAODv2', 'MINIAODSIM', '106X_mc2017_realistic_v9-v1'],
  ['RunIISummer20UL16NanoAODv9', 'NANOAODSIM', '106X_mcRun2_asymptotic_v17-v1'],
]
const PRIMARIES = [
  'DYJetsToLL_M-50_TuneCP5_13TeV-amcatnloFXFX-pythia8',
  'TTToSemiLeptonic_TuneCP5_13TeV-powheg-pythia8',
  'WJetsToLNu_TuneCP5_13TeV-madgraphMLM-pythia8',
  'QCD_Pt-15to7000_TuneCP5_Flat2018_13TeV_pythia8',
]
const DATA = [
  ['Run2018D', 'MINIAOD', 'UL2018_MiniAODv2-v3'],
  ['Run2017F', 'MINIAOD', 'UL2017_MiniAODv2-v1'],
]
const PDS = ['SingleMuon', 'EGamma', 'JetHT']

/** The dataset directories (`/store/.../PROCESSED`), below which the counters go. */
function datasetDirs() {
  const out = []
  for (const [era, tier, proc] of MC) for (const p of PRIMARIES) out.push(`/store/mc/${era}/${p}/${tier}/${proc}`)
  for (const [run, tier, proc] of DATA) for (const pd of PDS) out.push(`/store/data/${run}/${pd}/${tier}/${proc}`)
  return out
}

/** @param {string} lfn */
const dirOf = (lfn) => path.posix.dirname(lfn)

/**
 * A dataset directory the site holds nothing of, beside `ds` (its primary
 * dataset renamed): where true orphans go, since orphans of a dataset the
 * site holds are protected, as in the original.
 * @param {string} ds
 */
const darkTwin = (ds) => {
  const parts = ds.split('/')
  parts[4] = `Dark${parts[4]}`
  return parts.join('/')
}

/**
 * The site: its storage tree under `data` (the directory the server
 * exports as LFN `/`) and a mirror of its inventory rows.
 */
export class RaceSite {
  /**
   * @param {string} data
   * @param {{ seed?: number, counters?: number, bigDirectory?: number }} [options]
   *   counters: leaf directories per dataset (default 8); bigDirectory: files
   *   of one untouched directory big enough for several partial DirList answers (default 2000)
   */
  constructor(data, options = {}) {
    this.data = data
    this.rng = makeRng(options.seed ?? 1)
    this.counters = options.counters ?? 8
    this.bigDirectory = options.bigDirectory ?? 2000
    /** @type {Map<string, number>} untouched files and their sizes */
    this.untouched = new Map()
    /** @type {Set<string>} */
    this.trueMissing = new Set()
    /** @type {Set<string>} */
    this.trueOrphans = new Set()
    /**
     * Every path that is, or may be at this moment, in the inventory, with its
     * size: a path is added before its row is written and removed after its row is gone.
     * @type {Map<string, number>}
     */
    this.inventory = new Map()
    /** @type {Map<string, number>} mutable files (in both) not being changed now */
    this.mutable = new Map()
    /** @type {Set<string>} directories that hold only mutable files */
    this.mutableDirs = new Set()
    /** @type {string[]} directories of untouched files, where new files are created */
    this.stableDirs = []
    /** @type {string[]} old empty directories not yet filled */
    this.traps = []
    /** @type {Set<string>} files and directories being changed now */
    this.busy = new Set()
    /** @type {((lfn: string) => void) | null} told of every path that enters the inventory */
    this.onAdd = null
    this.counter = 0
  }

  /** @param {string} lfn */
  local(lfn) {
    return path.join(this.data, lfn)
  }

  /** A new counter directory name below a dataset directory (never used before). */
  newCounter() {
    return String(130000 + this.counter++)
  }

  /**
   * Write a file on storage with an mtime (default: old).
   * @param {string} lfn @param {number} size @param {number} [mtime]
   */
  writeStorage(lfn, size, mtime = OLD + this.rng.int(0, 10_000_000)) {
    const file = this.local(lfn)
    fs.mkdirSync(path.dirname(file), { recursive: true })
    fs.writeFileSync(file, Buffer.alloc(size, 120))
    fs.utimesSync(file, mtime, mtime)
  }

  /** @param {string} lfn @param {number} size */
  addInventory(lfn, size) {
    this.inventory.set(lfn, size)
    this.onAdd?.(lfn)
  }

  size() {
    return this.rng.int(1_000, 5_000)
  }

  /**
   * Write the storage tree; returns the inventory rows to load.
   * @returns {{ lfn: string, size: number }[]}
   */
  build() {
    const r = this.rng
    for (const ds of datasetDirs()) {
      for (let c = 0; c < this.counters; c++) {
        const dir = `${ds}/${this.newCounter()}`
        if (c % 4 === 3) {
          // a block of mutable files, its directory renamed or deleted whole
          this.mutableDirs.add(dir)
          for (let i = 0; i < 3; i++) {
            const lfn = `${dir}/${r.uuid()}.root`
            const size = this.size()
            this.writeStorage(lfn, size)
            this.addInventory(lfn, size)
            this.mutable.set(lfn, size)
          }
          continue
        }
        this.stableDirs.push(dir)
        for (let i = 0; i < 4; i++) {
          const lfn = `${dir}/${r.uuid()}.root`
          const size = this.size()
          this.writeStorage(lfn, size)
          this.addInventory(lfn, size)
          this.untouched.set(lfn, size)
        }
        for (let i = 0; i < 2; i++) {
          const lfn = `${dir}/${r.uuid()}.root`
          const size = this.size()
          this.writeStorage(lfn, size)
          this.addInventory(lfn, size)
          this.mutable.set(lfn, size)
        }
        if (c % 3 === 0) {
          const lfn = `${dir}/${r.uuid()}.root`
          this.addInventory(lfn, this.size())
          this.trueMissing.add(lfn)
        }
        if (c % 3 === 1) {
          const lfn = `${darkTwin(ds)}/${this.newCounter()}/${r.uuid()}.root`
          this.writeStorage(lfn, this.size())
          this.trueOrphans.add(lfn)
        }
      }
    }
    const all = datasetDirs()
    // a block lost whole: its directory is not on storage
    const lost = `${all[1]}/${this.newCounter()}`
    for (let i = 0; i < 3; i++) {
      const lfn = `${lost}/${r.uuid()}.root`
      this.addInventory(lfn, this.size())
      this.trueMissing.add(lfn)
    }
    // a block nobody registered
    const dark = `${darkTwin(all[all.length - 1] ?? '')}/${this.newCounter()}`
    for (let i = 0; i < 3; i++) {
      const lfn = `${dark}/${r.uuid()}.root`
      this.writeStorage(lfn, this.size())
      this.trueOrphans.add(lfn)
    }
    // one big untouched directory: listed in several partial answers
    const big = `${all[0]}/${this.newCounter()}`
    this.stableDirs.push(big)
    for (let i = 0; i < this.bigDirectory; i++) {
      const lfn = `${big}/${r.uuid()}.root`
      const size = this.size()
      this.writeStorage(lfn, size)
      this.addInventory(lfn, size)
      this.untouched.set(lfn, size)
    }
    return [...this.inventory].map(([lfn, size]) => ({ lfn, size }))
  }

  /**
   * New old empty directories, each a new counter of a dataset directory.
   * @param {number} n
   */
  addTraps(n) {
    const all = datasetDirs()
    for (let i = 0; i < n; i++) {
      const dir = `${this.rng.pick(all)}/${this.newCounter()}`
      fs.mkdirSync(this.local(dir), { recursive: true })
      fs.utimesSync(this.local(dir), OLD, OLD)
      this.traps.push(dir)
    }
  }
}

/** Insert inventory rows (complete replicas owned by a group: old files) in one transaction. */
const INSERT = `INSERT INTO replicas (site, lfn, size, block, grp, complete) VALUES (?, ?, ?, '', 'DataOps', 1)`

/**
 * Load the site's rows into the embedded inventory.
 * @param {Db} db @param {string} site @param {{ lfn: string, size: number }[]} rows
 */
export async function loadInventory(db, site, rows) {
  await db.transaction(async (tx) => {
    await tx.run(`INSERT INTO sites (name) VALUES (?) ON CONFLICT (name) DO NOTHING`, [site])
    for (const r of rows) await tx.run(INSERT, [site, r.lfn, r.size])
  })
}

/**
 * Changes storage and, a moment later (`lagMs`), the inventory, while a
 * run of the check is on. Between runs it is still: every change it began
 * has ended when `endRun` returns.
 */
export class Mutator {
  /**
   * @param {RaceSite} site
   * @param {Db} db
   * @param {string} siteName
   * @param {{ seed?: number, lagMs?: [number, number], gapMs?: [number, number], trapsPerRun?: number }} [options]
   */
  constructor(site, db, siteName, options = {}) {
    this.site = site
    this.db = db
    this.siteName = siteName
    this.rng = makeRng(options.seed ?? 2)
    this.lagMs = options.lagMs ?? [10, 250]
    this.gapMs = options.gapMs ?? [5, 30]
    this.trapsPerRun = options.trapsPerRun ?? 1
    /** @type {Set<Promise<void>>} */
    this.pending = new Set()
    /** @type {Record<string, number>} mutations begun, by kind */
    this.counts = {}
    /** mutations begun before the storage listing ended */
    this.duringListing = 0
    /** @type {Map<string, [number, string][]>} what happened to each path (in order), for the evidence of a failure */
    this.history = new Map()
    this.seq = 0
    this.run = 0
    this.t0 = 0
    this.listing = false
    this.active = false
    /** @type {ReturnType<typeof setTimeout> | null} */
    this.timer = null
    /** @type {Set<string>} */
    this.held = new Set()
    /** @type {Set<string>} directories removed or renamed away on storage during the run */
    this.gone = new Set()
    /** @type {Error[]} failures of the mutator itself */
    this.errors = []
  }

  /** @param {string} lfn @param {string} what */
  note(lfn, what) {
    const t = ((performance.now() - this.t0) / 1000).toFixed(3)
    const list = this.history.get(lfn) ?? []
    list.push([this.seq++, `run ${this.run} +${t}s ${what}`])
    this.history.set(lfn, list)
  }

  /** The history of a path, of the directories above it and of every path below it. @param {string} p */
  historyOf(p) {
    /** @type {[number, string][]} */
    const out = []
    for (const [lfn, events] of this.history) {
      if (lfn === p || lfn.startsWith(`${p}/`) || p.startsWith(`${lfn}/`)) {
        for (const [seq, e] of events) out.push([seq, lfn === p ? e : `${lfn}: ${e}`])
      }
    }
    return (
      out
        .sort((a, b) => a[0] - b[0])
        .map((e) => e[1])
        .join('; ') || '(never changed)'
    )
  }

  lag() {
    return sleep(this.rng.int(this.lagMs[0], this.lagMs[1]))
  }

  /** @param {string} kind @param {() => Promise<void>} body */
  spawn(kind, body) {
    this.counts[kind] = (this.counts[kind] ?? 0) + 1
    if (this.listing) this.duringListing++
    const p = body()
      .catch((err) => {
        this.errors.push(err instanceof Error ? err : new Error(String(err)))
      })
      .finally(() => this.pending.delete(p))
    this.pending.add(p)
    return p
  }

  /** A mutable file not being changed (its directory neither). */
  freeFile() {
    const s = this.site
    for (let i = 0; i < 20; i++) {
      const lfn = this.rng.pick([...s.mutable.keys()])
      if (lfn !== undefined && !s.busy.has(lfn) && !s.busy.has(dirOf(lfn))) return lfn
    }
    return null
  }

  /** A mutable directory none of whose files is being changed. */
  freeDir() {
    const s = this.site
    const dirs = [...s.mutableDirs]
    for (let i = 0; i < 10; i++) {
      const dir = this.rng.pick(dirs)
      if (dir === undefined || s.busy.has(dir)) continue
      if ([...s.busy].some((b) => b.startsWith(`${dir}/`))) continue
      return dir
    }
    return null
  }

  /** @param {string} dir */
  filesIn(dir) {
    return [...this.site.mutable.keys()].filter((l) => dirOf(l) === dir)
  }

  /**
   * A new file on storage (a transfer that kept its source's mtime, or a
   * fresh one), then its row.
   * @param {boolean} [now] inventory at once (in the hook)
   */
  create(now = false) {
    const s = this.site
    const dir = this.rng.pick(s.stableDirs)
    const lfn = `${dir}/${this.rng.uuid()}.root`
    const size = s.size()
    const old = this.rng.next() < 0.7
    return this.spawn('create', async () => {
      s.busy.add(lfn)
      s.writeStorage(lfn, size, old ? undefined : Math.floor(Date.now() / 1000))
      this.note(lfn, `created on storage (${size} bytes, ${old ? 'old' : 'new'} mtime)`)
      if (!now) await this.lag()
      s.addInventory(lfn, size)
      await this.db.run(INSERT, [this.siteName, lfn, size])
      this.note(lfn, 'added to the inventory')
      s.mutable.set(lfn, size)
      s.busy.delete(lfn)
    })
  }

  /** Deleted on storage, then its row. @param {boolean} [now] */
  remove(now = false) {
    const s = this.site
    const lfn = this.freeFile()
    if (!lfn) return null
    return this.spawn('delete', async () => {
      s.busy.add(lfn)
      s.mutable.delete(lfn)
      fs.unlinkSync(s.local(lfn))
      this.note(lfn, 'deleted on storage')
      if (!now) await this.lag()
      await this.db.run('DELETE FROM replicas WHERE site = ? AND lfn = ?', [this.siteName, lfn])
      s.inventory.delete(lfn)
      this.note(lfn, 'deleted from the inventory')
      s.busy.delete(lfn)
    })
  }

  /**
   * Rewritten in place: opened with O_TRUNC, then written again to the same
   * size. Meanwhile it is seen as 0 bytes with its old mtime (as storage that
   * keeps a file's mtime until its new content is closed shows it). The
   * inventory does not change.
   */
  rewrite() {
    const s = this.site
    const lfn = this.freeFile()
    if (!lfn) return null
    const size = /** @type {number} */ (s.mutable.get(lfn))
    return this.spawn('rewrite', async () => {
      s.busy.add(lfn)
      s.mutable.delete(lfn)
      const file = s.local(lfn)
      const { mtime } = fs.statSync(file)
      const fd = fs.openSync(file, 'w')
      try {
        fs.futimesSync(fd, mtime, mtime)
        this.note(lfn, 'truncated on storage (0 bytes, old mtime)')
        await this.lag()
        fs.writeSync(fd, Buffer.alloc(size, 121))
        fs.futimesSync(fd, mtime, mtime)
      } finally {
        fs.closeSync(fd)
      }
      this.note(lfn, `written again on storage (${size} bytes)`)
      s.mutable.set(lfn, size)
      s.busy.delete(lfn)
    })
  }

  /** Replaced on storage by a file of another size (mtime kept), then its row's size. @param {boolean} [now] */
  resize(now = false) {
    const s = this.site
    const lfn = this.freeFile()
    if (!lfn) return null
    const before = /** @type {number} */ (s.mutable.get(lfn))
    let size = s.size()
    if (size === before) size++
    return this.spawn('resize', async () => {
      s.busy.add(lfn)
      s.mutable.delete(lfn)
      const { mtime } = fs.statSync(s.local(lfn))
      s.writeStorage(lfn, size, Math.floor(mtime.getTime() / 1000))
      this.note(lfn, `resized on storage ${before} -> ${size} bytes`)
      if (!now) await this.lag()
      s.addInventory(lfn, size)
      await this.db.run('UPDATE replicas SET size = ? WHERE site = ? AND lfn = ?', [size, this.siteName, lfn])
      this.note(lfn, 'size updated in the inventory')
      s.mutable.set(lfn, size)
      s.busy.delete(lfn)
    })
  }

  /** Renamed on storage within its directory, then in the inventory. @param {boolean} [now] */
  renameFile(now = false) {
    const s = this.site
    const from = this.freeFile()
    if (!from) return null
    const to = `${dirOf(from)}/${this.rng.uuid()}.root`
    const size = /** @type {number} */ (s.mutable.get(from))
    return this.spawn('rename', async () => {
      s.busy.add(from)
      s.busy.add(to)
      s.mutable.delete(from)
      fs.renameSync(s.local(from), s.local(to))
      this.note(from, `renamed on storage to ${to}`)
      this.note(to, `renamed on storage from ${from}`)
      if (!now) await this.lag()
      s.addInventory(to, size)
      await this.db.transaction(async (tx) => {
        await tx.run(INSERT, [this.siteName, to, size])
        await tx.run('DELETE FROM replicas WHERE site = ? AND lfn = ?', [this.siteName, from])
      })
      s.inventory.delete(from)
      this.note(to, 'renamed in the inventory')
      s.mutable.set(to, size)
      s.busy.delete(from)
      s.busy.delete(to)
    })
  }

  /** A block's directory renamed on storage (a new counter), then its rows. */
  renameDir() {
    const s = this.site
    const from = this.freeDir()
    if (!from) return null
    const to = `${dirOf(from)}/${s.newCounter()}`
    const files = this.filesIn(from)
    return this.spawn('rename-dir', async () => {
      s.busy.add(from)
      s.busy.add(to)
      s.mutableDirs.delete(from)
      for (const f of files) s.mutable.delete(f)
      fs.renameSync(s.local(from), s.local(to))
      this.gone.add(from)
      this.note(from, `directory renamed on storage to ${to}`)
      this.note(to, `directory renamed on storage from ${from}`)
      await this.lag()
      const moved = files.map((f) => ({
        from: f,
        to: `${to}/${path.posix.basename(f)}`,
        size: s.inventory.get(f) ?? 0,
      }))
      for (const m of moved) s.addInventory(m.to, m.size)
      await this.db.transaction(async (tx) => {
        for (const m of moved) {
          await tx.run(INSERT, [this.siteName, m.to, m.size])
          await tx.run('DELETE FROM replicas WHERE site = ? AND lfn = ?', [this.siteName, m.from])
        }
      })
      for (const m of moved) {
        s.inventory.delete(m.from)
        s.mutable.set(m.to, m.size)
        this.note(m.to, `renamed in the inventory from ${m.from}`)
      }
      s.mutableDirs.add(to)
      s.busy.delete(from)
      s.busy.delete(to)
    })
  }

  /** A block deleted on storage file by file, its directory removed, then its rows. */
  removeDir() {
    const s = this.site
    const dir = this.freeDir()
    if (!dir) return null
    const files = this.filesIn(dir)
    return this.spawn('delete-dir', async () => {
      s.busy.add(dir)
      s.mutableDirs.delete(dir)
      for (const f of files) {
        s.mutable.delete(f)
        fs.unlinkSync(s.local(f))
        this.note(f, 'deleted on storage')
        await sleep(this.rng.int(1, 8))
      }
      fs.rmdirSync(s.local(dir))
      this.gone.add(dir)
      this.note(dir, 'directory removed on storage')
      await this.lag()
      await this.db.transaction(async (tx) => {
        for (const f of files) await tx.run('DELETE FROM replicas WHERE site = ? AND lfn = ?', [this.siteName, f])
      })
      for (const f of files) {
        s.inventory.delete(f)
        this.note(f, 'deleted from the inventory')
      }
      s.busy.delete(dir)
    })
  }

  /** A new block: a directory of three files on storage, then their rows. */
  createDir() {
    const s = this.site
    const dir = `${dirOf(this.rng.pick(s.stableDirs))}/${s.newCounter()}`
    const files = [0, 1, 2].map(() => ({ lfn: `${dir}/${this.rng.uuid()}.root`, size: s.size() }))
    return this.spawn('create-dir', async () => {
      s.busy.add(dir)
      for (const f of files) {
        s.writeStorage(f.lfn, f.size)
        this.note(f.lfn, `created on storage (${f.size} bytes, old mtime)`)
      }
      await this.lag()
      for (const f of files) s.addInventory(f.lfn, f.size)
      await this.db.transaction(async (tx) => {
        for (const f of files) await tx.run(INSERT, [this.siteName, f.lfn, f.size])
      })
      for (const f of files) {
        s.mutable.set(f.lfn, f.size)
        this.note(f.lfn, 'added to the inventory')
      }
      s.mutableDirs.add(dir)
      s.busy.delete(dir)
    })
  }

  /** A file lands in an old empty directory, on storage and in the inventory at once. */
  fillTrap() {
    const s = this.site
    const dir = s.traps.shift()
    if (!dir) return null
    const lfn = `${dir}/${this.rng.uuid()}.root`
    const size = s.size()
    return this.spawn('fill-empty', async () => {
      s.busy.add(lfn)
      s.writeStorage(lfn, size)
      this.note(lfn, 'created on storage in an old empty directory')
      s.addInventory(lfn, size)
      await this.db.run(INSERT, [this.siteName, lfn, size])
      this.note(lfn, 'added to the inventory')
      s.mutable.set(lfn, size)
      s.busy.delete(lfn)
    })
  }

  /** One change of a random kind. */
  one() {
    const k = this.rng.int(0, 15)
    if (k < 3) return this.create()
    if (k < 5) return this.remove()
    if (k < 8) return this.rewrite()
    if (k < 10) return this.resize()
    if (k < 12) return this.renameFile()
    if (k < 13) return this.renameDir()
    if (k < 14) return this.removeDir()
    return this.createDir()
  }

  /** Start a run: changes at random moments until `endRun`. */
  beginRun() {
    this.run++
    this.t0 = performance.now()
    this.listing = true
    this.active = true
    this.held = new Set(this.site.inventory.keys())
    this.gone = new Set()
    this.site.onAdd = (lfn) => this.held.add(lfn)
    const tick = () => {
      if (!this.active) return
      this.one()
      this.timer = setTimeout(tick, this.rng.int(this.gapMs[0], this.gapMs[1]))
    }
    tick()
  }

  /**
   * Between the storage listing and the second inventory listing (the
   * check's `afterRemoteListing`): old empty directories get a file, and
   * some changes reach the inventory before it is listed again, others later.
   */
  async hook() {
    this.listing = false
    const now = []
    for (let i = 0; i < this.trapsPerRun; i++) now.push(this.fillTrap())
    now.push(this.create(true), this.remove(true), this.resize(true), this.renameFile(true))
    this.rewrite()
    this.resize()
    await Promise.all(now)
  }

  /**
   * The run ended: no new changes; wait for those begun to end. Returns
   * every path the inventory held during the run.
   */
  async endRun() {
    this.active = false
    this.listing = false
    if (this.timer) clearTimeout(this.timer)
    while (this.pending.size) await Promise.all([...this.pending])
    this.site.onAdd = null
    if (this.errors.length) throw this.errors[0]
    return this.held
  }

  get total() {
    return Object.values(this.counts).reduce((a, b) => a + b, 0)
  }
}

/**
 * A fault while the storage is listed: after `afterRequests` more DirList
 * requests have passed the proxy, the server is killed and started again
 * `downMs` later, or stopped for `pauseMs` (past the Timeout of every try of
 * the directories it holds). Nothing happens when the listing ends first.
 * @param {FaultKind} kind
 * @param {FaultServer} server
 * @param {Map<number, number>} requests the proxy's request counts
 * @param {() => boolean} listingDone
 * @param {{ afterRequests: number, downMs: number, pauseMs: number }} timing
 * @returns {Promise<string | null>} what was done
 */
export async function injectFault(kind, server, requests, listingDone, timing) {
  if (!kind) return null
  const start = requests.get(KXR_DIRLIST) ?? 0
  while ((requests.get(KXR_DIRLIST) ?? 0) < start + timing.afterRequests) {
    if (listingDone()) return null
    await sleep(2)
  }
  if (kind === 'kill') {
    await server.kill()
    await sleep(timing.downMs)
    await server.start()
    return `killed, started again ${timing.downMs} ms later`
  }
  server.pause()
  try {
    await sleep(timing.pauseMs)
  } finally {
    server.resume()
  }
  return `stopped for ${timing.pauseMs} ms`
}

/** @param {string} file */
function readLines(file) {
  const text = fs.readFileSync(file, 'utf8')
  return text === '' ? [] : text.replace(/\n$/, '').split('\n')
}

/**
 * Judge one run.
 * @param {{ site: RaceSite, mutator: Mutator, report: CheckReportLike, held: Set<string>,
 *   deletions: string[], unlisted: string[], faulted: boolean }} run
 * @returns {Verdict}
 */
export function judge({ site, mutator, report, held, deletions, unlisted, faulted }) {
  const missing = new Set(report.missing)
  const orphan = new Set(report.orphan)
  const underUnlisted = (/** @type {string} */ lfn) => unlisted.some((u) => lfn.startsWith(`${u}/`))
  /** @type {Verdict} */
  const v = {
    untouchedWrong: [],
    wrongDeletions: [],
    notFound: [],
    unexplainedUnlisted: faulted ? [] : unlisted.filter((u) => !mutator.gone.has(u)),
    checked: { missing: 0, orphan: 0 },
    deletions: deletions.length,
    trueOrphansRequested: 0,
  }
  // (a)
  for (const lfn of site.untouched.keys()) {
    for (const as of /** @type {const} */ (['missing', 'orphan'])) {
      if ((as === 'missing' ? missing : orphan).has(lfn)) {
        v.untouchedWrong.push({ lfn, as, history: mutator.historyOf(lfn) })
      }
    }
  }
  // (b)
  const heldDirs = new Set()
  for (const lfn of held) for (let d = dirOf(lfn); d !== '/' && !heldDirs.has(d); d = dirOf(d)) heldDirs.add(d)
  for (const d of deletions) {
    if (held.has(d)) {
      const size = site.inventory.get(d)
      v.wrongDeletions.push({
        lfn: d,
        why: `a file the inventory held during the run${size === undefined ? '' : ` (${size} bytes)`}`,
        history: mutator.historyOf(d),
      })
    } else if (heldDirs.has(d)) {
      const below = [...held].filter((l) => l.startsWith(`${d}/`))
      v.wrongDeletions.push({
        lfn: d,
        why: `a directory holding ${below.length} file(s) the inventory held during the run, e.g. ${below[0]}`,
        history: mutator.historyOf(d),
      })
    }
    if (site.trueOrphans.has(d)) v.trueOrphansRequested++
  }
  // (c)
  for (const lfn of site.trueMissing) {
    if (underUnlisted(lfn)) continue
    v.checked.missing++
    if (!missing.has(lfn)) v.notFound.push({ lfn, as: 'missing' })
  }
  for (const lfn of site.trueOrphans) {
    if (underUnlisted(lfn)) continue
    v.checked.orphan++
    if (!orphan.has(lfn)) v.notFound.push({ lfn, as: 'orphan' })
  }
  return v
}

/**
 * @typedef {object} RunResult
 * @property {number} round
 * @property {number} run
 * @property {CheckReportLike} report
 * @property {Verdict} verdict
 * @property {string | null} fault what the fault did (null: none, or the listing ended first)
 * @property {number} dirlists DirList requests that passed the proxy during the run
 * @property {string[]} unlisted
 * @property {number} seconds
 */

/**
 * One run of the check with the mutator and a fault on: the deletion
 * requests it made are read (and taken away) after it, and judged.
 * @param {{ site: RaceSite, mutator: Mutator, db: Db, siteName: string, round: number, run: number,
 *   check: (afterRemoteListing: () => Promise<void>) => Promise<CheckReportLike | null>,
 *   fault: FaultKind, server: FaultServer, requests: Map<number, number>,
 *   timing: { afterRequests: number, downMs: number, pauseMs: number } }} o
 * @returns {Promise<RunResult>}
 */
export async function raceRun(o) {
  const t0 = performance.now()
  const dirlists = o.requests.get(KXR_DIRLIST) ?? 0
  let listingDone = false
  o.mutator.beginRun()
  // handled at once: a fault that fails while the check runs must not be an unhandled rejection
  const fault = injectFault(o.fault, o.server, o.requests, () => listingDone, o.timing).then(
    (done) => ({ done, error: null }),
    (/** @type {unknown} */ error) => ({ done: null, error }),
  )
  /** @type {CheckReportLike | null} */
  let report = null
  /** @type {unknown} */
  let error = null
  try {
    report = await o.check(async () => {
      listingDone = true
      await o.mutator.hook()
    })
  } catch (err) {
    error = err
  }
  listingDone = true
  const { done: faultDone, error: faultError } = await fault
  const held = await o.mutator.endRun()
  const rows = await o.db.all(`SELECT file FROM deletion_queue WHERE site = ? ORDER BY reqid`, [o.siteName])
  await o.db.run('DELETE FROM deletion_queue WHERE site = ?', [o.siteName])
  if (error) throw error
  if (faultError) throw faultError
  if (!report) throw new Error(`round ${o.round} run ${o.run}: the site was not picked`)
  const deletions = rows.map((r) => String(r.file))
  const unlisted = readLines(/** @type {string} */ (report.outputs.unlisted))
  return {
    round: o.round,
    run: o.run,
    report,
    verdict: judge({
      site: o.site,
      mutator: o.mutator,
      report,
      held,
      deletions,
      unlisted,
      faulted: faultDone !== null,
    }),
    fault: faultDone,
    dirlists: (o.requests.get(KXR_DIRLIST) ?? 0) - dirlists,
    unlisted,
    seconds: (performance.now() - t0) / 1000,
  }
}

/**
 * The site's configuration: XRootD through the door (the slow proxy) for
 * every connection, short Timeout and few Retries, act on everything found.
 * @param {{ site: string, door: string, dir: string, timeout?: number, retries?: number }} o
 */
export function raceConfig(o) {
  return {
    VarLocation: path.join(o.dir, 'var'),
    WebDir: path.join(o.dir, 'www'),
    AccessMethod: { [o.site]: 'XRootD' },
    Redirectors: { [o.site]: o.door },
    UseLoadBalancer: [o.site],
    DirectoryList: ['mc', 'data'],
    IgnoreAge: 1,
    NumThreads: 2,
    RequestsInFlight: 2,
    Timeout: o.timeout ?? 1,
    Retries: o.retries ?? 1,
    MaxMissing: 100_000,
    MaxOrphan: 100_000,
    DeleteOrphans: true,
    UseTransferQueue: true,
  }
}

/**
 * One line per failure of a run, for a test's message or a benchmark's log.
 * @param {RunResult} r
 */
export function describeFailures(r) {
  const at = `round ${r.round} run ${r.run}${r.fault ? ` (server ${r.fault})` : ''}`
  return [
    ...r.verdict.untouchedWrong.map((u) => `${at}: untouched file called ${u.as}: ${u.lfn}; ${u.history}`),
    ...r.verdict.wrongDeletions.map((d) => `${at}: deletion requested for ${d.why}: ${d.lfn}; ${d.history}`),
    ...r.verdict.notFound.map((n) => `${at}: true ${n.as} file in a listed directory not found: ${n.lfn}`),
    ...r.verdict.unexplainedUnlisted.map((u) => `${at}: unlisted although the server stayed up and it stayed: ${u}`),
  ]
}
