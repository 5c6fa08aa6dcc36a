/**
 * The lists of a comparison as bytes (`Lfn`), filtered with masks in Rust,
 * and the one writer of every list the check leaves in `WebDir`.
 */
import type { Filter } from '../filters'
import { type Lfn, lfnsFromBuffer, lfnsToBuffer } from '../lfn'
import { type CompareResult, type Tree, writeLfnList } from '../native'

export type ListKind = 'missing' | 'orphan' | 'empty'

/** The names of a list, in its order (files sorted by bytes, directories deepest first). */
export function lfnsOf(result: CompareResult, kind: ListKind): Lfn[] {
  return lfnsFromBuffer(result.lfnBuffer(kind))
}

/** A file of a list with its size (-1 when unknown). */
export interface SizedLfn {
  lfn: Lfn
  size: number
}

/** The files of the `missing` or `orphan` list with their sizes. */
export function filesOf(result: CompareResult, kind: 'missing' | 'orphan'): SizedLfn[] {
  const lfns = lfnsOf(result, kind)
  const sizes = result.sizes(kind)
  return lfns.map((lfn, i) => ({ lfn, size: sizes[i] as number }))
}

/**
 * Keep the entries of `kind` in `result` that are also in `other`'s list
 * and that no filter vetoes. Returns the names kept.
 */
export function keepListed(
  result: CompareResult,
  kind: ListKind,
  other: CompareResult | null,
  veto: Filter | null,
): Lfn[] {
  const lfns = lfnsOf(result, kind)
  const also = other ? new Set(lfnsOf(other, kind)) : null
  const mask = new Uint8Array(lfns.length)
  const kept: Lfn[] = []
  for (let i = 0; i < lfns.length; i++) {
    const lfn = lfns[i] as Lfn
    const keep = (also === null || also.has(lfn)) && !(veto?.protected(lfn) ?? false)
    mask[i] = keep ? 1 : 0
    if (keep) kept.push(lfn)
  }
  if (kept.length !== lfns.length) result.keep(kind, mask)
  return kept
}

/** What a tree holds at each of the given paths. */
export type Held = { file: true; size: number } | { file: false; directory: boolean }

/** Look the given paths up in a tree: a file (with its size, -1 unknown), a directory, or nothing. */
export function lookUp(tree: Tree, lfns: readonly Lfn[]): Held[] {
  const found = tree.lookup(lfnsToBuffer(lfns))
  return Array.from(found, (v): Held => (v >= -1 ? { file: true, size: v } : { file: false, directory: v === -2 }))
}

/**
 * Write names one a line, escaped as listing files are (a name holding a
 * newline stays one line), through a temporary file renamed into place.
 * Every list of the check goes through here. `suffixes`, one per name, are
 * the check's own figures written after it as they are (`|size`).
 */
export function writeList(file: string, lfns: readonly Lfn[], suffixes?: string[]): void {
  writeLfnList(file, lfnsToBuffer(lfns), suffixes)
}
