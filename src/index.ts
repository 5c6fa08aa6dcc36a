/**
 * dynamo-consistency: compare what an inventory says a storage site holds
 * with what the site really holds.
 */

export * as backends from './backends'
export * as check from './check'
export { Config, config, SCHEMA } from './config'
export * as datatypes from './datatypes'
export * from './errors'
export * as inventorylister from './inventorylister'
export type { Lfn } from './lfn'
export { lfnBytes, lfnForDisplay, lfnFromBytes, lfnFromText } from './lfn'
export type {
  CompareResult,
  FileListKind,
  ListingFormat,
  ListKind,
  ListMethod,
  ListOptions,
  ListProgress,
  NodeInfo,
  NodeState,
} from './native'
export { compare, compareAsync, listRemote, Tree } from './native'
export * as remotelister from './remotelister'
export * as summary from './summary/store'
export type { RunStats, SiteSummary, SummaryReader } from './summary/types'
export * as web from './web'
