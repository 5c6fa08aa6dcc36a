/**
 * The original's `remotelister` module, by its names: site listings live
 * in `site-listing`, the TypeScript lister in `lister`.
 */
import type { DirectoryInfo } from './datatypes'
import { type ListingOptions, listSite } from './site-listing'

export { Lister, type ListerEntry } from './lister'
export {
  doorCacheFile,
  type ListingOptions,
  listRemote,
  locateDoor,
  nativeListing,
  prepareCredentials,
  siteCredentials,
  siteDoors,
  siteListOptions,
  siteRoots,
  siteTarget,
} from './site-listing'

/** List the site's storage (`RootPath` + each of `DirectoryList`), or reuse a fresh cached listing. */
export async function listing(site: string, options: ListingOptions = {}): Promise<DirectoryInfo> {
  return (await listSite(site, { ...options, cache: true })).tree
}
