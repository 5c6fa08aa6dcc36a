/**
 * The site listing of a check: only the top directories (`RootPath` plus
 * each of `DirectoryList`) that the inventory has, through the access
 * method the configuration gives the site.
 */
import { config } from '../config'
import { DirectoryInfo } from '../datatypes'
import type { ListOptions, ListProgress } from '../native'
import { locateDoor, nativeListing, siteRoots, siteTarget } from '../remotelister'

/** The listing roots the inventory has files or directories in. */
export function rootsFor(inventory: DirectoryInfo): string[] {
  return siteRoots().filter((root) => inventory.getNode(root) !== null)
}

export async function listSite(
  site: string,
  roots: readonly string[],
  options: { signal?: AbortSignal; onProgress?: (event: ListProgress) => void } = {},
): Promise<DirectoryInfo> {
  const where = siteTarget(site, await locateDoor(site))
  if ('dump' in where) return DirectoryInfo.fromListing(where.dump, where.format)
  if (roots.length === 0) return DirectoryInfo.empty()
  const opts: ListOptions = {
    threads: config.get<number>(where.method === 'gfal' ? 'GFALThreads' : 'NumThreads'),
    retries: config.get<number>('Retries'),
    timeout: config.get<number>('Timeout'),
    roots: [...roots],
  }
  if (where.method !== 'local') opts.method = where.method
  const extra: { signal?: AbortSignal; onProgress?: (event: ListProgress) => void } = {}
  if (options.signal) extra.signal = options.signal
  if (options.onProgress) extra.onProgress = options.onProgress
  return new DirectoryInfo(await nativeListing(where.target, opts, extra))
}
