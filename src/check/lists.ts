/** Operations on the missing and orphan lists of a comparison, applied through masks in Rust. */
import type { Filter } from '../filters'
import type { CompareResult } from '../native'

export type ListKind = 'missing' | 'orphan'

/** The LFNs of a list, in its order (sorted by bytes). */
export function lfnsOf(result: CompareResult, kind: ListKind): string[] {
  const buf = result.lfnBuffer(kind)
  if (buf.length === 0) return []
  return buf.toString('utf8', 0, buf.length - 1).split('\0')
}

/**
 * Keep the entries of `kind` in `result` that are also in `other`'s list
 * and that no filter vetoes. Returns the LFNs kept.
 */
export function keepListed(
  result: CompareResult,
  kind: ListKind,
  other: CompareResult | null,
  veto: Filter | null,
): string[] {
  const lfns = lfnsOf(result, kind)
  const also = other ? new Set(lfnsOf(other, kind)) : null
  const mask = new Uint8Array(lfns.length)
  const kept: string[] = []
  for (let i = 0; i < lfns.length; i++) {
    const lfn = lfns[i] as string
    const keep = (also === null || also.has(lfn)) && !(veto?.protected(lfn) ?? false)
    mask[i] = keep ? 1 : 0
    if (keep) kept.push(lfn)
  }
  if (kept.length !== lfns.length) result.keep(kind, mask)
  return kept
}
