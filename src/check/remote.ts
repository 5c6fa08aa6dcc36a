/**
 * The site listing of a check: only the top directories (`RootPath` plus
 * each of `DirectoryList`) that the inventory has, through the access
 * method the configuration gives the site.
 */
import { DirectoryInfo } from '../datatypes'
import type { ListProgress } from '../native'
import { locateDoor, nativeListing, prepareCredentials, siteListOptions, siteRoots, siteTarget } from '../remotelister'

/** The listing roots the inventory has files or directories in. */
export function rootsFor(inventory: DirectoryInfo): string[] {
  return siteRoots().filter((root) => inventory.hasDirectory(root))
}

export async function listSite(
  site: string,
  roots: readonly string[],
  options: {
    signal?: AbortSignal
    onProgress?: (event: ListProgress) => void
    /** Told where the listing goes. */
    log?: (line: string) => void
  } = {},
): Promise<DirectoryInfo> {
  prepareCredentials(site)
  const where = siteTarget(site, await locateDoor(site, options.signal))
  if ('dump' in where) return DirectoryInfo.fromListing(where.dump, where.format)
  if (roots.length === 0) return DirectoryInfo.empty()
  const opts = await siteListOptions(site, where, roots, options.signal)
  options.log?.(
    `storage: ${where.target} (${where.method}, ${opts.threads} ${where.method === 'local' ? 'threads' : 'connections'}${opts.doors ? ` over ${opts.doors.join(', ')}` : ''})`,
  )
  const extra: { signal?: AbortSignal; onProgress?: (event: ListProgress) => void } = {}
  if (options.signal) extra.signal = options.signal
  if (options.onProgress) extra.onProgress = options.onProgress
  return new DirectoryInfo(await nativeListing(where.target, opts, extra))
}
