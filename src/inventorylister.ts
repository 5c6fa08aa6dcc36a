/**
 * Listing what the inventory says a site holds, as the original's
 * `inventorylister` module: it reads a listing file named for the site by
 * the configuration's `InventoryListing` mapping (the check's own inventory
 * back ends are in `backends`).
 */
import { config } from './config'
import { DirectoryInfo } from './datatypes'
import { ConfigError } from './errors'

/** Read the listing file the configuration names for `site`. */
export async function listingFileInventory(site: string): Promise<DirectoryInfo> {
  const file = config.site<string>('InventoryListing', site, '')
  if (!file) {
    throw new ConfigError(
      `no inventory for ${site}: set InventoryListing.${site} to a listing file in ${config.LOCATION ?? 'the configuration'}`,
    )
  }
  return DirectoryInfo.fromListing(file)
}

/** The site's files according to the inventory. */
export async function listing(site: string): Promise<DirectoryInfo> {
  return listingFileInventory(site)
}
