/**
 * What the check needs from the data-management system behind a site (the
 * original's "Back End Requirements"): an inventory to list, a registry to
 * write requests to, and the list of sites. Implementations: Dynamo over
 * MySQL (`dynamo.ts`), the embedded SQLite store (`embedded.ts`) and
 * listing files (`listing.ts`).
 */
import type { DirectoryInfo } from '../datatypes'

/** A block with missing files, for the missing-blocks summary. */
export interface MissingBlock {
  /** `/Primary/Era-Proc-v1/TIER#uuid` */
  block: string
  /** The group owning the site's replica of it ('' when unowned or unknown). */
  group: string
  /** How many of the given files belong to it. */
  count: number
}

/** Where else a file has copies. */
export interface Copies {
  /** Sites on disk holding a complete copy. */
  disk: string[]
  /** Tape (mss) sites holding a complete copy. */
  tape: string[]
}

/** A transfer request for a missing file. */
export interface TransferRequest {
  lfn: string
  /** The disk site to copy it from. */
  source: string
}

export interface Inventory {
  /**
   * The files the inventory says `site` holds, as a tree: files of complete
   * replicas owned by a group are old (mtime 0); the others get the current
   * time, so that they are never called missing but still shield the copy
   * on storage from being called an orphan. Rows are streamed into the
   * native tree in batches.
   */
  listFiles(site: string, options?: { signal?: AbortSignal }): Promise<DirectoryInfo>
  /** Datasets whose files on the site must never be called orphans. */
  protectedDatasets(site: string): Promise<string[]>
  /** LFNs being transferred to the site (on its storage, maybe, before the inventory knows them). */
  incomingFiles(site: string): Promise<string[]>
  /** LFNs with an open deletion request at the site. */
  deletionRequests(site: string): Promise<string[]>
  /** Group the given LFNs of `site` by block. */
  filelistToBlocklist(site: string, lfns: readonly string[]): Promise<MissingBlock[]>
  /** Copies of the given LFNs at sites other than `site`. */
  copiesElsewhere(site: string, lfns: readonly string[]): Promise<Map<string, Copies>>
}

export interface Registry {
  /** Request deletion of files or directories at `site`; returns how many requests are new. */
  delete(site: string, lfns: readonly string[]): Promise<number>
  /** Request transfers of missing files to `site`; returns how many requests are new. */
  transfer(site: string, requests: readonly TransferRequest[]): Promise<number>
  /** Tell the inventory that files at `site` are lost (local invalidations). */
  invalidate(site: string, lfns: readonly string[]): Promise<number>
}

export interface SiteInfo {
  /** Every site the inventory knows. */
  siteList(): Promise<string[]>
  /** Sites the inventory considers ready to be checked. */
  readySites(): Promise<string[]>
}

export interface Backend {
  readonly name: string
  readonly inventory: Inventory
  readonly registry: Registry
  readonly siteinfo: SiteInfo
  /** Whether `site` may be checked now (known, ready, storage on disk). */
  checkSite(site: string): Promise<boolean>
  close(): Promise<void>
}
