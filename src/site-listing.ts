/**
 * How a site's storage is reached and listed: its target, its doors, the
 * options of its listing and the cached listing. The access method comes
 * from the configuration's `AccessMethod` for the site:
 *
 * - `local:DIR`: a mounted file system whose `DIR/store/...` holds the LFNs;
 * - `dump:FILE` (or `dump-ral:FILE`): a storage dump;
 * - `XRootD` (default), `directx` (xrdfs) or `SRM` (gfal): the site's door
 *   from `Redirectors`. Over XRootD the connections are spread over the data
 *   servers the door names (`locate`), unless the site is in
 *   `UseLoadBalancer`: then they all go to the door.
 *
 * Only `RootPath` + each of `DirectoryList` is listed (or the roots asked
 * for). A listing may be cached as a tree file under `VarLocation/cache/SITE/`
 * and reused for `ListAge` days.
 */
import * as fs from 'node:fs'
import * as path from 'node:path'
import { config } from './config'
import { type Credentials, credentialEnvironment, describeCredentials, useNativeCredentials } from './credentials'
import { DirectoryInfo } from './datatypes'
import { AuthError, CancelledError, ConfigError } from './errors'
import type { ListingFormat, ListMethod, ListOptions, ListProgress } from './native'
import * as binding from './native'
import { DAY, now } from './time'

export interface ListingOptions {
  onProgress?: (event: ListProgress) => void
  signal?: AbortSignal
  /** Go on from the checkpoint of an interrupted listing. */
  resume?: boolean
}

/** The LFN directories a site listing covers. */
export function siteRoots(): string[] {
  const root = config.get<string>('RootPath').replace(/\/+$/, '')
  return config.get<string[]>('DirectoryList').map((d) => `${root}/${d.replace(/^\/+/, '')}`)
}

const METHODS: Record<string, ListMethod> = {
  xrootd: 'native',
  native: 'native',
  directx: 'xrdfs',
  xrdfs: 'xrdfs',
  srm: 'gfal',
  gfal: 'gfal',
}

/** Where the site's storage is and how to reach it. */
export function siteTarget(
  site: string,
  doorOverride?: string,
): { target: string; method: ListMethod | 'local' } | { dump: string; format: ListingFormat } {
  const access = config.site<string>('AccessMethod', site, 'XRootD')
  const where = `AccessMethod.${site} in ${config.LOCATION ?? 'the configuration'}`
  const colon = access.indexOf(':')
  const kind = (colon < 0 ? access : access.slice(0, colon)).toLowerCase()
  const arg = colon < 0 ? '' : access.slice(colon + 1)
  if (kind === 'local') {
    if (!arg) throw new ConfigError(`${where}: local needs a directory (local:/path/to/storage)`)
    return { target: arg, method: 'local' }
  }
  if (kind === 'dump' || kind === 'dump-ral') {
    if (!arg) throw new ConfigError(`${where}: ${kind} needs a file (${kind}:/path/to/dump)`)
    return { dump: arg, format: kind === 'dump-ral' ? 'ral' : 'auto' }
  }
  const method = METHODS[kind]
  if (!method) throw new ConfigError(`${where}: unknown access method ${access}`)
  const door = doorOverride ?? config.site<string>('Redirectors', site, '')
  if (!door) {
    throw new ConfigError(
      `${where}: ${access} needs the site's door in Redirectors.${site} (or GlobalRedirectors that can locate it)`,
    )
  }
  const prefix = config.site<string>('PathPrefix', site, '')
  const url = door.includes('://') ? door : `root://${door}`
  return { target: `${url.replace(/\/+$/, '')}/${prefix.replace(/^\/+/, '')}`, method }
}

/**
 * The variables a site's `Credentials` set (files resolved against the
 * configuration file's directory); empty when it has none (the
 * environment as it is).
 */
export function siteCredentials(site: string): Record<string, string> {
  const creds = { ...config.site<Credentials>('Credentials', site, {}) }
  for (const key of ['proxy', 'certDir', 'keytab', 'token'] as const) {
    const file = creds[key]
    if (file !== undefined) creds[key] = config.relativePath(file)
  }
  return credentialEnvironment(creds)
}

/**
 * Make a site's credentials those of its listing: the native lister (and
 * the `locate` of its doors) reads them from this process's environment,
 * set here before the site's first request; the xrdfs and gfal processes
 * get them in `environment`. Refused (`E_CREDENTIALS`) when an earlier
 * native listing in this process used other credentials.
 */
export function prepareCredentials(site: string): Record<string, string> {
  const env = siteCredentials(site)
  const access = config.site<string>('AccessMethod', site, 'XRootD').toLowerCase()
  if (METHODS[access] === 'native') useNativeCredentials(`site ${site}`, env)
  return env
}

/** Where doors found through `GlobalRedirectors` are kept (`RedirectorAge`). */
export function doorCacheFile(): string {
  return path.join(config.resolvePath('VarLocation'), 'redirectors', 'doors.json')
}

type DoorCache = Record<string, { door: string; time: number }>

function readDoorCache(): DoorCache {
  try {
    const parsed: unknown = JSON.parse(fs.readFileSync(doorCacheFile(), 'utf8'))
    return typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed) ? (parsed as DoorCache) : {}
  } catch {
    // absent or unreadable: no door is cached
    return {}
  }
}

/** The door cached for a site, while `RedirectorAge` allows (0: no expiry). */
function cachedDoor(site: string, age: number | null): string | undefined {
  if (age === null) return undefined
  const entry = readDoorCache()[site]
  if (!entry || typeof entry.door !== 'string' || typeof entry.time !== 'number' || !entry.door) return undefined
  if (age > 0 && now() - entry.time > age * DAY) return undefined
  return entry.door
}

function cacheDoor(site: string, door: string): void {
  const file = doorCacheFile()
  const doors = readDoorCache()
  doors[site] = { door, time: now() }
  fs.mkdirSync(path.dirname(file), { recursive: true })
  const tmp = `${file}.${process.pid}.tmp`
  fs.writeFileSync(tmp, `${JSON.stringify(doors, null, 2)}\n`)
  fs.renameSync(tmp, file)
}

/**
 * A site with no door in `Redirectors` is looked for through the
 * `GlobalRedirectors`, which send `/store/test/xrootd/SITE/` to the site's
 * own redirector (the CMS convention). With `RedirectorAge` set, a door
 * found is kept in `VarLocation/redirectors/doors.json` and reused for that
 * many days (0: until the file, or the site's entry in it, is deleted), as
 * the original kept its redirector lists.
 */
export async function locateDoor(site: string, signal?: AbortSignal): Promise<string | undefined> {
  if (config.site<string>('Redirectors', site, '')) return undefined
  const access = config.site<string>('AccessMethod', site, 'XRootD').toLowerCase()
  if (access.startsWith('local') || access.startsWith('dump')) return undefined
  const age = config.get<number | null>('RedirectorAge')
  const cached = cachedDoor(site, age)
  if (cached) return cached
  for (const global of config.get<string[]>('GlobalRedirectors')) {
    const url = `${global.includes('://') ? global : `root://${global}`}//store/test/xrootd/${site}/`
    try {
      const found = await locate(url, signal)
      if (found[0]) {
        const door = plainAddress(found[0].address)
        if (age !== null) cacheDoor(site, door)
        return door
      }
    } catch (err) {
      if (err instanceof CancelledError) throw err
      // this redirector does not know the site: ask the next
    }
  }
  return undefined
}

/** XRootD `locate`, waiting up to `Timeout`; an abort returns at once. */
function locate(url: string, signal: AbortSignal | undefined): Promise<binding.ServerLocation[]> {
  return binding.nativeTask(`locating ${url}`, signal, (s) => binding.locate(url, config.get<number>('Timeout'), s))
}

/** XRootD reports IPv4 servers as IPv4-mapped IPv6 (`[::1.2.3.4]:port`): `1.2.3.4:port`. */
function plainAddress(address: string): string {
  return address.replace(/^\[::(?:ffff:)?(\d+\.\d+\.\d+\.\d+)\]/i, '$1')
}

/**
 * The servers a site's XRootD connections are spread over. A site in
 * `UseLoadBalancer` is listed through its door alone (a load balancer picks
 * the server behind it). Any other is listed through the data servers the
 * door names for the first listed directory (XRootD `locate`), connection
 * after connection, as the original tool did: each of them must see the
 * whole namespace, as a site's doors do. When `locate` fails or names no
 * data server, the door is used.
 */
export async function siteDoors(
  site: string,
  target: string,
  roots: readonly string[],
  signal?: AbortSignal,
): Promise<string[]> {
  if (!/^(root|xroot):\/\//i.test(target)) return []
  if (config.get<string[]>('UseLoadBalancer').includes(site)) return []
  const first = roots[0] ?? '/'
  try {
    const found = await locate(`${target.replace(/\/+$/, '')}/${first.replace(/^\/+/, '')}`, signal)
    return [...new Set(found.filter((l) => !l.manager).map((l) => plainAddress(l.address)))]
  } catch (err) {
    if (err instanceof CancelledError) throw err
    return []
  }
}

/** How to list a site that is reached through a server or a local directory. */
export async function siteListOptions(
  site: string,
  where: { target: string; method: ListMethod | 'local' },
  roots: readonly string[],
  signal?: AbortSignal,
): Promise<ListOptions> {
  const opts: ListOptions = {
    threads: config.get<number>(where.method === 'gfal' ? 'GFALThreads' : 'NumThreads'),
    retries: config.get<number>('Retries'),
    timeout: config.get<number>('Timeout'),
    roots: [...roots],
  }
  if (where.method !== 'local') {
    opts.method = where.method
    // a storage prefix (the door's own path, PathPrefix) is where the LFNs lie, not part of them
    opts.relative = true
  }
  const env = siteCredentials(site)
  if ((where.method === 'xrdfs' || where.method === 'gfal') && Object.keys(env).length) opts.environment = env
  if (where.method === 'native') opts.depth = config.get<number>('RequestsInFlight')
  if (where.method === 'native' || where.method === 'xrdfs') {
    const doors = await siteDoors(site, where.target, roots, signal)
    if (doors.length > 0) opts.doors = doors
  }
  return opts
}

function cacheFile(site: string): string {
  return path.join(config.resolvePath('VarLocation'), 'cache', site, 'remote.tree')
}

/** A site listing and how it was made. */
export interface SiteListing {
  tree: DirectoryInfo
  /**
   * The options the storage was listed with (threads, method, depth,
   * doors...); null when nothing was listed: a storage dump, a cached
   * listing, or no roots.
   */
  options: ListOptions | null
}

export interface SiteListingOptions extends ListingOptions {
  /** The LFN directories to list. @default siteRoots() */
  roots?: readonly string[]
  /**
   * Reuse a cached listing younger than `ListAge` days, keep a checkpoint
   * to resume from, and save the listing when `ListAge` or `SaveCache` ask.
   */
  cache?: boolean
  /** Told where the listing goes. */
  log?: (line: string) => void
}

/** List the site's storage (or reuse a fresh cached listing, with `cache`). */
export async function listSite(site: string, options: SiteListingOptions = {}): Promise<SiteListing> {
  const cache = options.cache ? cacheFile(site) : null
  const listAge = config.get<number>('ListAge')
  if (cache && listAge > 0 && fs.existsSync(cache)) {
    const ageDays = (Date.now() - fs.statSync(cache).mtimeMs) / 1000 / DAY
    if (ageDays < listAge) {
      try {
        return { tree: await DirectoryInfo.load(cache), options: null }
      } catch {
        // a corrupt cache is listed again
      }
    }
  }
  prepareCredentials(site)
  const where = siteTarget(site, await locateDoor(site, options.signal))
  let listed: SiteListing
  if ('dump' in where) {
    listed = { tree: await DirectoryInfo.fromListing(where.dump, where.format), options: null }
  } else if (options.roots?.length === 0) {
    listed = { tree: DirectoryInfo.empty(), options: null }
  } else {
    const roots = options.roots ?? siteRoots()
    const opts = await siteListOptions(site, where, roots, options.signal)
    if (cache) {
      fs.mkdirSync(path.dirname(cache), { recursive: true })
      opts.checkpoint = `${cache}.checkpoint`
      opts.resume = options.resume ?? false
    }
    options.log?.(
      `storage: ${where.target} (${where.method}, ${opts.threads} ${where.method === 'local' ? 'threads' : 'connections'}${opts.doors ? ` over ${opts.doors.join(', ')}` : ''})`,
    )
    const extra: ListingOptions = {}
    if (options.signal) extra.signal = options.signal
    if (options.onProgress) extra.onProgress = options.onProgress
    listed = { tree: new DirectoryInfo(await nativeListing(where.target, opts, extra)), options: opts }
  }
  if (cache && (listAge > 0 || config.get<boolean>('SaveCache'))) {
    fs.mkdirSync(path.dirname(cache), { recursive: true })
    listed.tree.save(cache)
  }
  return listed
}

/**
 * The native listing; an abort stops it within a fraction of a second. A
 * refused authentication (`AuthError`) names the credentials in force.
 */
export async function nativeListing(
  target: string,
  options: ListOptions,
  extra: ListingOptions = {},
): Promise<binding.Tree> {
  try {
    return await binding.nativeTask(`listing ${target}`, extra.signal, (signal) =>
      binding.listRemote(target, options, extra.onProgress, signal),
    )
  } catch (err) {
    if (!(err instanceof AuthError)) throw err
    const child = options.method === 'xrdfs' || options.method === 'gfal'
    const env = { ...process.env, ...(child ? options.environment : {}) }
    throw new AuthError('E_AUTH', `${err.message} (credential: ${describeCredentials(env)})`)
  }
}

/** List any local directory or storage URL (`root://host:port//path`). */
export async function listRemote(
  target: string,
  options: ListOptions = {},
  extra: ListingOptions = {},
): Promise<DirectoryInfo> {
  return new DirectoryInfo(await nativeListing(target, options, extra))
}
