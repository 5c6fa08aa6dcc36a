/**
 * What the check needs from the data-management system behind a site (the
 * original's "Back End Requirements"): an inventory to list, a registry to
 * write requests to, and the list of sites. Implementations: Dynamo over
 * MySQL (`dynamo.ts`), the embedded SQLite store (`embedded.ts`) and
 * listing files (`listing.ts`).
 */
import type { DirectoryInfo } from '../datatypes'
import type { Lfn } from '../lfn'

/** A block with missing files, for the missing-blocks summary. */
export interface MissingBlock {
  /** `/Primary/Era-Proc-v1/TIER#uuid` */
  block: string
  /** The group owning the site's replica of it ('' when unowned or unknown). */
  group: string
  /** How many of the given files belong to it. */
  count: number
}

/**
 * Where else a file has copies a transfer can start from: complete
 * replicas owned by a group, at sites whose status is `ready`.
 */
export interface Copies {
  /** Disk (any storage type but tape) sites holding such a copy. */
  disk: string[]
  /** Tape (mss) sites holding such a copy. */
  tape: string[]
}

/** A transfer request for a missing file. */
export interface TransferRequest {
  lfn: Lfn
  /** The site to copy it from. */
  source: string
}

/**
 * How a query of the inventory may be stopped: an abort rejects it
 * (`CancelledError`) within moments, whatever the database is doing.
 */
export interface QueryOptions {
  signal?: AbortSignal
}

export interface Inventory {
  /**
   * The files the inventory says `site` holds, as a tree: files of complete
   * replicas owned by a group are old (mtime 0); the others get the current
   * time, so that they are never called missing but still shield the copy
   * on storage from being called an orphan. Rows are streamed into the
   * native tree in batches.
   */
  listFiles(site: string, options?: QueryOptions): Promise<DirectoryInfo>
  /**
   * Datasets whose files on the site are never deleted as orphans (the
   * original's `protected_datasets`): every dataset with a replica at the
   * site, every dataset whose status is `IGNORED`, and every dataset with
   * files subscribed to the site. Names as bytes, as LFNs.
   */
  protectedDatasets(site: string, options?: QueryOptions): Promise<Lfn[]>
  /**
   * The datasets of `protectedDatasets` that are protected whether or not
   * the site holds a replica (`IGNORED`, subscribed to the site, or named
   * by the operator): even a size mismatch in them is never deleted.
   */
  alwaysProtectedDatasets(site: string, options?: QueryOptions): Promise<Lfn[]>
  /** LFNs being transferred to the site (on its storage, maybe, before the inventory knows them). */
  incomingFiles(site: string, options?: QueryOptions): Promise<Lfn[]>
  /**
   * Datasets the data-management system is deleting at the site: their
   * missing files are not missing, and their orphans are not the check's
   * to delete. The check's own requests in the deletion queue are not
   * among them.
   */
  deletionRequests(site: string, options?: QueryOptions): Promise<Lfn[]>
  /** Group the given LFNs of `site` by block. */
  filelistToBlocklist(site: string, lfns: readonly Lfn[], options?: QueryOptions): Promise<MissingBlock[]>
  /** Copies of the given LFNs at sites other than `site` that a transfer can start from. */
  copiesElsewhere(site: string, lfns: readonly Lfn[], options?: QueryOptions): Promise<Map<Lfn, Copies>>
}

export interface Registry {
  /**
   * Request deletion of files or directories at `site`; returns how many
   * requests were written (a request already queued is left as it is, so
   * asking again, after a crash say, is safe; MySQL counts it as written,
   * SQLite does not).
   */
  delete(site: string, lfns: readonly Lfn[]): Promise<number>
  /** Request transfers of missing files to `site`, one per source; returns how many requests were written, as `delete`. */
  transfer(site: string, requests: readonly TransferRequest[]): Promise<number>
  /** Tell the inventory that files at `site` are lost (local invalidations). */
  invalidate(site: string, lfns: readonly Lfn[]): Promise<number>
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
