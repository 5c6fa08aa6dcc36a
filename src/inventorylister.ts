/**
 * Listing what the inventory says a site holds, as the original's
 * `inventorylister` module. The inventory back end is pluggable; the
 * built-in one reads a listing file named for the site by the
 * configuration's `InventoryListing` mapping.
 */
import { config } from './config'
import { DirectoryInfo } from './datatypes'
import { ConfigError } from './errors'

/** Something that lists a site's files from an inventory. */
export type InventorySource = (site: string) => Promise<DirectoryInfo>

let source: InventorySource | null = null

/** Choose the inventory back end (`null` for the listing-file default). */
export function setInventorySource(s: InventorySource | null): void {
  source = s
}

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
  return (source ?? listingFileInventory)(site)
}
