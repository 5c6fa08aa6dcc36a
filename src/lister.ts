/**
 * A lister written in TypeScript (the original's "extend Lister and
 * implement ls_directory") on the native engine's workers.
 */
import { DirectoryInfo } from './datatypes'
import type { ListOptions, ListProgress } from './native'
import * as binding from './native'

/** One entry of a directory, as a lister written in TypeScript gives it. */
export interface ListerEntry {
  name: string
  isDir: boolean
  /** Bytes; unknown when absent. */
  size?: number
  /** Unix seconds; 0 (unknown) when absent. */
  mtime?: number
}

/**
 * Implement `lsDirectory`, then `list()` runs it on the native engine's
 * workers, with its retries, unlisted directories, progress, checkpoints
 * and cancellation. An error thrown by `lsDirectory` makes the directory
 * unlisted (after retries when the error has `retryable: true`).
 */
export abstract class Lister {
  abstract lsDirectory(lfn: string, worker: number): Promise<ListerEntry[]> | ListerEntry[]

  async list(
    options: ListOptions = {},
    extra: { onProgress?: (event: ListProgress) => void; signal?: AbortSignal } = {},
  ): Promise<DirectoryInfo> {
    const answer = async (req: binding.ListRequest) => {
      try {
        const entries = await this.lsDirectory(req.lfn, req.worker)
        const names = Buffer.from(entries.map((e) => `${e.name}\0`).join(''), 'utf8')
        binding.replyListing(
          req.id,
          names,
          Uint8Array.from(entries, (e) => (e.isDir ? 1 : 0)),
          Float64Array.from(entries, (e) => e.size ?? -1),
          Float64Array.from(entries, (e) => e.mtime ?? 0),
        )
      } catch (err) {
        const message = err instanceof Error ? err.message : String(err)
        const flags = err as { retryable?: unknown; timedOut?: unknown } | null
        binding.replyListing(
          req.id,
          null,
          null,
          null,
          null,
          message || 'listing failed',
          flags?.retryable === true,
          flags?.timedOut === true,
        )
      }
    }
    const tree = await binding.nativeTask('the listing', extra.signal, (signal) =>
      binding.listWithJs((req) => void answer(req), options, extra.onProgress, signal),
    )
    return new DirectoryInfo(tree)
  }
}
