/** The native module, built by `napi build` into the package root. */
import type * as Binding from '../index'

// eslint-disable-next-line @typescript-eslint/no-require-imports
const binding: typeof Binding = require('../index.js')

export const {
  Tree,
  CompareResult,
  compare,
  compareAsync,
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
export type ListOptions = Binding.ListOptions
export type ListProgress = Binding.ListProgress
export type NodeInfo = Binding.NodeInfo
export type FileEntry = Binding.FileEntry
export type UnlistedDir = Binding.UnlistedDir
export type TreeCounts = Binding.TreeCounts
export type ListRequest = Binding.ListRequest
export type FileColumns = Binding.FileColumns
