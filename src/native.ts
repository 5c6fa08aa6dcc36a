/** The native module, built by `napi build` into the package root. */
import type * as Binding from '../index'
import { CancelledError, fromNative } from './errors'

// eslint-disable-next-line @typescript-eslint/no-require-imports
const binding: typeof Binding = require('../index.js')

export const {
  Tree,
  CompareResult,
  compare,
  compareAsync,
  compareListingsAsync,
  listRemote,
  listWithJs,
  locate,
  replyListing,
  loadTreeAsync,
  readListingAsync,
  readInputAsync,
  nativeVersion,
  writeLfnList,
} = binding
export type Tree = Binding.Tree
export type CompareResult = Binding.CompareResult
export type ListingsCounts = Binding.ListingsCounts
export type ListOptions = Binding.ListOptions
export type ListProgress = Binding.ListProgress
export type NodeInfo = Binding.NodeInfo
export type FileEntry = Binding.FileEntry
export type UnlistedDir = Binding.UnlistedDir
export type TreeCounts = Binding.TreeCounts
export type ListRequest = Binding.ListRequest
export type FileColumns = Binding.FileColumns
export type ServerLocation = Binding.ServerLocation

/**
 * Run one native task (an N-API `AsyncTask`) that `signal` may stop, with
 * its errors translated. napi-rs tells of an abort only the first task an
 * `AbortSignal` was given to, and only while it runs: a run's signal handed
 * to the inventory listing and then to the storage listing never reaches
 * the second. So every task gets an `AbortSignal` of its own, aborted with
 * `signal` while the task runs and unlinked after; a signal that has
 * already fired stops the task before it starts (`what` names it).
 */
export async function nativeTask<T>(
  what: string,
  signal: AbortSignal | undefined,
  start: (signal: AbortSignal | undefined) => Promise<T>,
): Promise<T> {
  if (signal?.aborted) throw new CancelledError('E_CANCELLED', `${what} was cancelled before it started`)
  const own = signal ? new AbortController() : undefined
  const forward = () => own?.abort(signal?.reason)
  signal?.addEventListener('abort', forward, { once: true })
  try {
    return await start(own?.signal)
  } catch (err) {
    // a task N-API dropped before it ran rejects with an AbortError
    if (own?.signal.aborted && err instanceof Error && err.name === 'AbortError')
      throw new CancelledError('E_CANCELLED', `${what} was cancelled`)
    throw fromNative(err)
  } finally {
    signal?.removeEventListener('abort', forward)
  }
}
