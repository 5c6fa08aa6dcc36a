/**
 * The listing-file inventory: a site's files come from the listing file
 * that the configuration's `InventoryListing` names for it (every file
 * old); protected datasets, deletion requests and registry writes go to the
 * embedded SQLite store.
 */
import { config } from '../config'
import type { DirectoryInfo } from '../datatypes'
import { listingFileInventory } from '../inventorylister'
import { EmbeddedBackend, EmbeddedInventory, openEmbeddedDatabase } from './embedded'
import type { SqliteSql } from './sql'

class ListingInventory extends EmbeddedInventory {
  override listFiles(site: string): Promise<DirectoryInfo> {
    return listingFileInventory(site)
  }
}

/** The listing-file back end: listing files for the inventory, the embedded store for the rest. */
export class ListingBackend extends EmbeddedBackend {
  override readonly name = 'listing'

  constructor(db: SqliteSql = openEmbeddedDatabase()) {
    super(db, new ListingInventory(db))
  }

  override async checkSite(site: string): Promise<boolean> {
    return config.site<string>('InventoryListing', site, '') !== ''
  }
}
