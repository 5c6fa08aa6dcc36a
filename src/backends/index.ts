/**
 * The inventory back ends and the one the configuration chooses
 * (`InventoryBackend`: `sqlite`, the default; `dynamo`; `listing`).
 */
import { config } from '../config'
import { UsageError } from '../errors'
import { DynamoBackend } from './dynamo'
import { EmbeddedBackend } from './embedded'
import { ListingBackend } from './listing'
import type { Backend } from './types'

export { DatasetFilter } from '../filters'
export { DynamoBackend, streamIntoTree } from './dynamo'
export {
  EMBEDDED_SCHEMA,
  EmbeddedBackend,
  embeddedInventoryPath,
  importListing,
  openEmbeddedDatabase,
} from './embedded'
export { ListingBackend } from './listing'
export * from './sql'
export * from './types'

/** Open the back end the configuration names. */
export function openBackend(): Backend {
  switch (config.get<string>('InventoryBackend')) {
    case 'dynamo':
      return new DynamoBackend()
    case 'listing':
      return new ListingBackend()
    default:
      return new EmbeddedBackend()
  }
}

/** The site names of `siteList()` that the pattern (a regular expression, anchored) matches. */
export function matchSites(sites: readonly string[], pattern: string): string[] {
  const re = sitePattern(pattern)
  return sites.filter((s) => re.test(s))
}

/** A `--site` pattern as an anchored regular expression (a plain name matches itself only). */
export function sitePattern(pattern: string): RegExp {
  try {
    return new RegExp(`^(?:${pattern})$`)
  } catch (err) {
    throw new UsageError(`--site ${pattern} is not a valid pattern: ${(err as Error).message}`)
  }
}
