/**
 * The configuration: a JSON or YAML file whose keys keep the meaning they
 * had in the original tool, checked against a schema. An environment
 * variable named as a key overrides it (its value read as JSON when it
 * parses, as a string otherwise). A bad file or key is an error naming the
 * key and the file.
 */
import * as fs from 'node:fs'
import * as path from 'node:path'
import { ConfigError } from './errors'
import { DEFAULT_DEPTH, MAX_DEPTH, MAX_RETRIES, MAX_SECONDS, MAX_THREADS } from './native'
import { DAY } from './time'

type Kind = 'string' | 'number' | 'integer' | 'boolean' | 'string[]' | 'record' | 'custom'

export interface KeySpec {
  kind: Kind
  default: unknown
  doc: string
  /** For `record`: the kind of each value. */
  values?: Exclude<Kind, 'record' | 'custom'>
  /** Allowed values, for strings. */
  oneOf?: readonly string[]
  min?: number
  max?: number
  /** For `custom`: checks the value and returns it as the tool keeps it. */
  check?: (v: unknown, where: string, file: string) => unknown
}

/**
 * The largest values numbers may take, here, on the command line and in
 * the native layer (which checks them again, and defines those of a
 * listing): past them a value is a mistake, and some (a timeout of 1e300
 * seconds) would overflow a clock.
 */
export const LIMITS = {
  /** listing connections, workers or processes */
  threads: MAX_THREADS,
  /** requests in flight on one connection */
  depth: MAX_DEPTH,
  /** further attempts for one directory */
  retries: MAX_RETRIES,
  /** seconds, for a timeout: a day */
  seconds: MAX_SECONDS,
  /** days, for an age: a century */
  days: 36_500,
  /** a count of files: more than any site holds */
  files: 1e12,
} as const

/**
 * The unmerged directories never cleaned by default: the original's
 * DIRS_TO_AVOID (but logs, which the logs' own age cleans, as the original
 * did) and ours, SAM. On deleting, the more careful default wins.
 */
const UNMERGED_AVOID = ['SAM', 'tier0_harvest', 'express', 'data'].map((d) => `/store/unmerged/${d}`)

/** The original's `ListDeletable` object (cmstoolbox's listdeletable configuration). */
export interface OriginalListDeletable {
  LFN_TO_CLEAN?: string
  UNMERGED_DIR_LOCATION?: string
  WHICH_LIST?: 'files' | 'directories'
  DELETION_FILE?: string
  DIRS_TO_AVOID?: string[]
  /** seconds */
  MIN_AGE?: number
  SLEEP_TIME?: number
  STORAGE_TYPE?: string
  SITE_NAME?: string
  /** site: the RootPath its unmerged directory lies below (read as UnmergedRoot) */
  AlternateRoot?: Record<string, string>
  /** ours: the file or URL of protected LFNs */
  ProtectedList?: string
}

const LIST_DELETABLE_KEYS: Record<keyof OriginalListDeletable, Exclude<Kind, 'custom'>> = {
  LFN_TO_CLEAN: 'string',
  UNMERGED_DIR_LOCATION: 'string',
  WHICH_LIST: 'string',
  DELETION_FILE: 'string',
  DIRS_TO_AVOID: 'string[]',
  MIN_AGE: 'number',
  SLEEP_TIME: 'number',
  STORAGE_TYPE: 'string',
  SITE_NAME: 'string',
  AlternateRoot: 'record',
  ProtectedList: 'string',
}

function checkListDeletable(v: unknown, where: string, file: string): unknown {
  if (typeof v === 'string') return v
  if (typeof v !== 'object' || v === null || Array.isArray(v)) {
    throw new ConfigError(`${file}: ${where} must be a string or a mapping, not ${kindOf(v)}`, { file })
  }
  const out: Record<string, unknown> = {}
  for (const [k, val] of Object.entries(v)) {
    const kind = Object.hasOwn(LIST_DELETABLE_KEYS, k)
      ? LIST_DELETABLE_KEYS[k as keyof OriginalListDeletable]
      : undefined
    if (!kind) {
      throw new ConfigError(
        `${file}: unknown key ${where}.${k} (known: ${Object.keys(LIST_DELETABLE_KEYS).join(', ')})`,
        { file },
      )
    }
    const spec: KeySpec =
      k === 'MIN_AGE'
        ? { kind, default: 0, doc: '', min: 0, max: LIMITS.days * DAY }
        : k === 'WHICH_LIST'
          ? { kind, default: '', doc: '', oneOf: ['files', 'directories'] }
          : { kind, default: '', doc: '', min: 0, max: LIMITS.seconds }
    if (kind === 'record') {
      if (typeof val !== 'object' || val === null || Array.isArray(val)) {
        throw new ConfigError(`${file}: ${where}.${k} must be a mapping of site to value, not ${kindOf(val)}`, { file })
      }
      const sites: Record<string, unknown> = {}
      for (const [site, root] of Object.entries(val)) {
        sites[site] = checkScalar('string', root, spec, `${where}.${k}.${site}`, file)
      }
      out[k] = sites
    } else out[k] = checkScalar(kind, val, spec, `${where}.${k}`, file)
  }
  return out
}

const CREDENTIAL_KEYS = ['proxy', 'certDir', 'keytab', 'token', 'protocols'] as const

/** `Credentials`: per site, a mapping of `proxy`, `certDir`, `keytab`, `token` (files) and `protocols`. */
function checkCredentials(v: unknown, where: string, file: string): unknown {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) {
    throw new ConfigError(`${file}: ${where} must be a mapping of site to credentials, not ${kindOf(v)}`, { file })
  }
  const out: Record<string, Record<string, string>> = {}
  for (const [site, creds] of Object.entries(v)) {
    if (typeof creds !== 'object' || creds === null || Array.isArray(creds)) {
      throw new ConfigError(
        `${file}: ${where}.${site} must be a mapping of ${CREDENTIAL_KEYS.join(', ')}, not ${kindOf(creds)}`,
        { file },
      )
    }
    const one: Record<string, string> = {}
    for (const [k, val] of Object.entries(creds)) {
      if (!(CREDENTIAL_KEYS as readonly string[]).includes(k)) {
        throw new ConfigError(`${file}: unknown key ${where}.${site}.${k} (known: ${CREDENTIAL_KEYS.join(', ')})`, {
          file,
        })
      }
      if (typeof val !== 'string' || val === '' || val.includes('\0')) {
        throw new ConfigError(`${file}: ${where}.${site}.${k} must be a non-empty string, not ${kindOf(val)}`, {
          file,
        })
      }
      one[k] = val
    }
    out[site] = one
  }
  return out
}

function checkFreeMem(v: unknown, where: string, file: string): unknown {
  if (typeof v === 'boolean') return v
  return checkScalar('number', v, { kind: 'number', default: 0, doc: '', min: 0, max: 1e6 }, where, file)
}

function checkRedirectorAge(v: unknown, where: string, file: string): unknown {
  if (v === null) return v
  return checkScalar('number', v, { kind: 'number', default: 0, doc: '', min: 0, max: LIMITS.days }, where, file)
}

/**
 * The original's `ListDeletable` object read as our keys: `MIN_AGE`
 * (seconds) as `UnmergedMinAge` (days), `DIRS_TO_AVOID` (below
 * `LFN_TO_CLEAN`) as `UnmergedDirsToAvoid` (LFNs; `logs` left out: logs are
 * cleaned by `UnmergedLogsAge`, as the original did), `ProtectedList` as the
 * `ListDeletable` string, `AlternateRoot` as `UnmergedRoot`. A key the file
 * (or the environment) sets itself wins over the mapping.
 * `UNMERGED_DIR_LOCATION`, `WHICH_LIST`, `DELETION_FILE`, `SLEEP_TIME`,
 * `STORAGE_TYPE` and `SITE_NAME` are accepted and have no effect: the unmerged area is listed as the site is (its
 * `PathPrefix`), and the deletable files go to the registry and to
 * WebDir/SITE_compare_unmerged.txt.
 */
function mapListDeletable(values: ConfigValues, explicit: ReadonlySet<string>, file: string): void {
  const o = values.ListDeletable
  if (typeof o !== 'object' || o === null) return
  const ld = o as OriginalListDeletable
  const unmerged = `${String(values.RootPath).replace(/\/+$/, '')}/unmerged`
  const base = (ld.LFN_TO_CLEAN ?? unmerged).replace(/\/+$/, '')
  if (base !== unmerged) {
    throw new ConfigError(
      `${file}: ListDeletable.LFN_TO_CLEAN must be ${unmerged} (RootPath/unmerged, the directory cleaned), not ${base}`,
      { file },
    )
  }
  if (ld.MIN_AGE !== undefined && !explicit.has('UnmergedMinAge')) values.UnmergedMinAge = ld.MIN_AGE / DAY
  if (ld.DIRS_TO_AVOID !== undefined && !explicit.has('UnmergedDirsToAvoid')) {
    values.UnmergedDirsToAvoid = ld.DIRS_TO_AVOID.filter((d) => d.replace(/^\/+|\/+$/g, '') !== 'logs').map((d) =>
      d.startsWith('/') ? d : `${base}/${d.replace(/\/+$/, '')}`,
    )
  }
  if (ld.AlternateRoot !== undefined && !explicit.has('UnmergedRoot')) values.UnmergedRoot = ld.AlternateRoot
  values.ListDeletable = ld.ProtectedList ?? ''
}

/** Every key the tool reads, with its default. Every number has a `max`. */
export const SCHEMA: Record<string, KeySpec> = {
  RootPath: { kind: 'string', default: '/store', doc: 'the LFN below which every listing starts' },
  DirectoryList: {
    kind: 'string[]',
    default: ['mc', 'data', 'hidata'],
    doc: 'directories under RootPath to list',
  },
  IgnoreDirectories: {
    kind: 'string[]',
    default: [],
    doc: 'substrings: matching orphans and empty directories are not reported',
  },
  IgnoreAge: { kind: 'number', default: 2, min: 0, max: LIMITS.days, doc: 'days: younger files are not compared' },
  NumThreads: { kind: 'integer', default: 4, min: 1, max: LIMITS.threads, doc: 'listing connections per site' },
  GFALThreads: { kind: 'integer', default: 4, min: 1, max: LIMITS.threads, doc: 'listing processes for gfal sites' },
  RequestsInFlight: {
    kind: 'integer',
    default: DEFAULT_DEPTH,
    min: 0,
    max: LIMITS.depth,
    doc: 'requests the native XRootD lister keeps in flight on each connection (0: one synchronous request at a time)',
  },
  Retries: { kind: 'integer', default: 2, min: 0, max: LIMITS.retries, doc: 'further attempts per failed directory' },
  Timeout: {
    kind: 'number',
    default: 300,
    min: 0.001,
    max: LIMITS.seconds,
    doc: 'seconds one directory listing may take',
  },
  ListAge: { kind: 'number', default: 0, min: 0, max: LIMITS.days, doc: 'days a cached site listing is reused' },
  InventoryAge: {
    kind: 'number',
    default: 0,
    min: 0,
    max: LIMITS.days,
    doc: 'days a cached inventory listing is reused',
  },
  VarLocation: { kind: 'string', default: 'var', doc: 'directory for caches, logs and the embedded databases' },
  WebDir: { kind: 'string', default: 'www', doc: 'directory for the result lists and the web page' },
  Redirectors: { kind: 'record', values: 'string', default: {}, doc: 'site: XRootD door (host[:port])' },
  GlobalRedirectors: { kind: 'string[]', default: [], doc: 'redirectors asked to locate a site door' },
  PathPrefix: { kind: 'record', values: 'string', default: {}, doc: 'site: path prepended to LFNs on storage' },
  AccessMethod: {
    kind: 'record',
    values: 'string',
    default: {},
    doc: 'site: XRootD (native), directx (xrdfs), SRM (gfal), local:DIR or dump:FILE',
  },
  Credentials: {
    kind: 'custom',
    default: {},
    check: checkCredentials,
    doc: 'site: {proxy, certDir, keytab, token, protocols}: the X.509 proxy, CA directory, sss keytab, bearer token file and XrdSecPROTOCOL its listings authenticate with (files relative to the configuration file); absent: the environment',
  },
  UseLoadBalancer: { kind: 'string[]', default: [], doc: 'sites listed through their redirector, not a data server' },
  MaxMissing: {
    kind: 'integer',
    default: 1000,
    min: 0,
    max: LIMITS.files,
    doc: 'more missing files than this: nothing is acted on',
  },
  MaxOrphan: {
    kind: 'integer',
    default: 5000,
    min: 0,
    max: LIMITS.files,
    doc: 'more orphans than this: nothing is acted on',
  },
  DeleteOrphans: { kind: 'boolean', default: true, doc: 'request deletion of orphans at act sites' },
  LeaseSeconds: {
    kind: 'integer',
    default: 60,
    min: 2,
    max: DAY,
    doc: 'a running check renews its lease on the site within this; a site whose lease expired (its worker died) is taken by another',
  },
  OrphanConfirmRuns: {
    kind: 'integer',
    default: 2,
    min: 1,
    max: 1000,
    doc: 'runs in a row an orphan or empty directory must be found in before its deletion is requested (1: at once, as the original)',
  },
  OrphanConfirmDays: {
    kind: 'number',
    default: 0,
    min: 0,
    max: 3650,
    doc: 'days the first of those runs must lie back before a deletion is requested',
  },
  UseTransferQueue: { kind: 'boolean', default: true, doc: 'request transfers of missing files at act sites' },
  Unmerged: { kind: 'string[]', default: [], doc: 'sites whose /store/unmerged is cleaned' },
  UnmergedLogsAge: {
    kind: 'number',
    default: 60,
    min: 0,
    max: LIMITS.days,
    doc: "days after which unmerged logs are deleted (the original's 60)",
  },
  ListDeletable: {
    kind: 'custom',
    default: '',
    check: checkListDeletable,
    doc: "file or URL of protected unmerged LFNs; or the original's object (LFN_TO_CLEAN, DIRS_TO_AVOID, MIN_AGE in seconds, ...), read as UnmergedMinAge and UnmergedDirsToAvoid, with the protected list in its ProtectedList (ours)",
  },
  AdditionalLogDeletions: { kind: 'record', values: 'string[]', default: {}, doc: 'site: further log directories' },
  FreeMem: {
    kind: 'custom',
    default: false,
    check: checkFreeMem,
    doc: 'GB of available memory a check needs before it starts, as the original (a boolean is ours, kept for old files: it has no effect)',
  },
  RedirectorAge: {
    kind: 'custom',
    default: null,
    check: checkRedirectorAge,
    doc: 'days a door found through GlobalRedirectors is reused from VarLocation/redirectors/doors.json (0: until that file is deleted, as the original; absent: never cached)',
  },
  InventoryListing: {
    kind: 'record',
    values: 'string',
    default: {},
    doc: 'site: listing file used as its inventory',
  },
  SaveCache: { kind: 'boolean', default: false, doc: 'keep the site listing in VarLocation/cache' },
  InventoryBackend: {
    kind: 'string',
    default: 'sqlite',
    oneOf: ['sqlite', 'dynamo', 'listing'],
    doc: 'inventory and registry: the embedded SQLite store, Dynamo over MySQL, or InventoryListing files',
  },
  InventoryDatabase: {
    kind: 'string',
    default: '',
    doc: 'embedded inventory and registry database file (default VarLocation/inventory.db)',
  },
  DynamoDatabase: { kind: 'string', default: '', doc: "Dynamo's inventory: mysql://user:password@host:port/dynamo" },
  DynamoRegistry: {
    kind: 'string',
    default: '',
    doc: "Dynamo's registry (default: database dynamoregister on the DynamoDatabase server)",
  },
  SummaryDatabase: {
    kind: 'string',
    default: '',
    doc: 'summary, history and site status: a SQLite file (default VarLocation/summary.db) or mysql://... shared by hosts',
  },
  UnmergedMinAge: {
    kind: 'number',
    default: 28,
    min: 0,
    max: LIMITS.days,
    doc: "days after which unprotected unmerged files are deleted (the original's MIN_AGE, 28 days)",
  },
  UnmergedRoot: {
    kind: 'record',
    values: 'string',
    default: {},
    doc: "site: the RootPath its unmerged directory lies below, when not RootPath (the original's ListDeletable.AlternateRoot)",
  },
  UnmergedDirsToAvoid: {
    kind: 'string[]',
    default: [...UNMERGED_AVOID],
    doc: "unmerged directories never cleaned (the original's DIRS_TO_AVOID and ours, SAM)",
  },
}

export type ConfigValues = Record<string, unknown>

function kindOf(v: unknown): string {
  if (Array.isArray(v)) return 'a list'
  if (v === null) return 'null'
  return typeof v === 'object' ? 'a mapping' : `the ${typeof v} ${JSON.stringify(v)}`
}

function checkScalar(
  kind: Exclude<Kind, 'record' | 'custom'>,
  v: unknown,
  spec: KeySpec,
  where: string,
  file: string,
): unknown {
  const bad = (want: string) => new ConfigError(`${file}: ${where} must be ${want}, not ${kindOf(v)}`, { file })
  switch (kind) {
    case 'string':
      if (typeof v !== 'string') throw bad('a string')
      if (spec.oneOf && !spec.oneOf.includes(v)) throw bad(`one of ${spec.oneOf.join(', ')}`)
      return v
    case 'number':
    case 'integer':
      if (typeof v !== 'number' || !Number.isFinite(v)) throw bad(kind === 'integer' ? 'a whole number' : 'a number')
      if (kind === 'integer' && !Number.isInteger(v)) throw bad('a whole number')
      if (spec.min !== undefined && v < spec.min) throw bad(`at least ${spec.min}`)
      if (spec.max !== undefined && v > spec.max) throw bad(`at most ${spec.max}`)
      return v
    case 'boolean':
      // the original's files write flags as 0 and 1
      if (v === 0 || v === 1) return v === 1
      if (typeof v !== 'boolean') throw bad('true or false (or 0 or 1)')
      return v
    case 'string[]':
      if (!Array.isArray(v) || !v.every((x) => typeof x === 'string')) throw bad('a list of strings')
      return v
  }
}

/** Edit distance, for suggesting the key a typo meant. */
function distance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, i) => i)
  for (let i = 1; i <= a.length; i++) {
    const cur = [i]
    for (let j = 1; j <= b.length; j++) {
      const sub = (prev[j - 1] as number) + (a[i - 1] === b[j - 1] ? 0 : 1)
      cur.push(Math.min(sub, (prev[j] as number) + 1, (cur[j - 1] as number) + 1))
    }
    prev = cur
  }
  return prev[b.length] as number
}

/** Check one key's value against the schema; the error names key and file. */
export function checkKey(key: string, v: unknown, file: string): unknown {
  // own keys only: `__proto__`, `toString` or `constructor` are no keys of ours
  const spec = Object.hasOwn(SCHEMA, key) ? SCHEMA[key] : undefined
  if (!spec) {
    const near = Object.keys(SCHEMA).find((k) => distance(k.toLowerCase(), key.toLowerCase()) <= 2)
    throw new ConfigError(`${file}: unknown key ${key}${near ? ` (did you mean ${near}?)` : ''}`, { file })
  }
  if (spec.kind === 'custom') return (spec.check as NonNullable<KeySpec['check']>)(v, key, file)
  if (spec.kind !== 'record') return checkScalar(spec.kind, v, spec, key, file)
  if (typeof v !== 'object' || v === null || Array.isArray(v)) {
    throw new ConfigError(`${file}: ${key} must be a mapping of site to value, not ${kindOf(v)}`, { file })
  }
  const out: Record<string, unknown> = {}
  for (const [site, val] of Object.entries(v)) {
    out[site] = checkScalar(spec.values ?? 'string', val, spec, `${key}.${site}`, file)
  }
  return out
}

/** Parse a configuration file's text (JSON or YAML) and check every key. */
export function parseConfig(text: string, file: string): ConfigValues {
  let raw: unknown
  try {
    // the YAML parser is loaded only for YAML files: it costs startup time
    raw = file.endsWith('.json') ? JSON.parse(text) : require('yaml').parse(text)
  } catch (err) {
    throw new ConfigError(`${file}: not valid ${file.endsWith('.json') ? 'JSON' : 'YAML'}: ${(err as Error).message}`, {
      file,
    })
  }
  if (raw === null || raw === undefined) raw = {}
  if (typeof raw !== 'object' || Array.isArray(raw)) {
    throw new ConfigError(`${file}: the configuration must be a mapping of keys to values`, { file })
  }
  const out: ConfigValues = {}
  for (const [k, v] of Object.entries(raw as Record<string, unknown>)) out[k] = checkKey(k, v, file)
  return out
}

function envOverrides(env: NodeJS.ProcessEnv): ConfigValues {
  const out: ConfigValues = {}
  for (const key of Object.keys(SCHEMA)) {
    const text = env[key]
    if (text === undefined) continue
    let v: unknown = text
    try {
      v = JSON.parse(text)
    } catch {
      // a plain string
    }
    out[key] = checkKey(key, v, `environment variable ${key}`)
  }
  return out
}

/** The configuration in force: defaults, the file, then the environment. */
export class Config {
  /** The configuration file; `null` for the defaults alone. */
  LOCATION: string | null = process.env.DYNAMO_CONSISTENCY_CONFIG ?? null
  private cache: { location: string | null; mtimeMs: number; values: ConfigValues; explicit: string[] } | null = null

  setLocation(location: string | null): void {
    this.LOCATION = location
    this.cache = null
  }

  /** Every key with its value, read afresh when the file changed. */
  configDict(): ConfigValues {
    const location = this.LOCATION
    let mtimeMs = 0
    if (location !== null) {
      try {
        mtimeMs = fs.statSync(location).mtimeMs
      } catch (err) {
        throw new ConfigError(`${location}: cannot read the configuration: ${(err as Error).message}`, {
          file: location,
        })
      }
    }
    if (!this.cache || this.cache.location !== location || this.cache.mtimeMs !== mtimeMs) {
      const values: ConfigValues = {}
      let explicit: string[] = []
      for (const [k, spec] of Object.entries(SCHEMA)) values[k] = structuredClone(spec.default)
      if (location !== null) {
        let text: string
        try {
          text = fs.readFileSync(location, 'utf8')
        } catch (err) {
          throw new ConfigError(`${location}: cannot read the configuration: ${(err as Error).message}`, {
            file: location,
          })
        }
        const parsed = parseConfig(text, location)
        Object.assign(values, parsed)
        explicit = Object.keys(parsed)
      }
      this.cache = { location, mtimeMs, values, explicit }
    }
    const env = envOverrides(process.env)
    const out = { ...this.cache.values, ...env }
    const explicit = new Set([...this.cache.explicit, ...Object.keys(env)])
    mapListDeletable(out, explicit, location ?? 'the configuration')
    return out
  }

  get<T = unknown>(key: string): T {
    if (!Object.hasOwn(SCHEMA, key)) throw new ConfigError(`unknown key ${key}`)
    return this.configDict()[key] as T
  }

  /** A per-site value of a mapping key, or `fallback`. */
  site<T>(key: string, site: string, fallback: T): T {
    const map = this.get<Record<string, T>>(key)
    return Object.hasOwn(map, site) ? (map[site] as T) : fallback
  }

  /** A path key resolved against the configuration file's directory. */
  resolvePath(key: string): string {
    return this.relativePath(this.get<string>(key))
  }

  /** A path relative to the configuration file's directory (the working directory without one). */
  relativePath(file: string): string {
    return path.resolve(this.LOCATION ? path.dirname(this.LOCATION) : process.cwd(), file)
  }
}

/** The process-wide configuration, as the original's `config` module. */
export const config = new Config()
