/** The third step of a check: the lists it leaves in `WebDir` (`SITE_compare_*.txt`). */
import * as fs from 'node:fs'
import * as path from 'node:path'
import { config } from '../config'
import { type Lfn, lfnFromText, lfnsToBuffer } from '../lfn'
import { type CompareResult, writeLfnList } from '../native'
import type { Copied, Findings } from './findings'
import type { CheckList } from './types'
import type { UnmergedResult } from './unmerged'

/** Write every list of the run; returns where each is. */
export function writeLists(
  site: string,
  first: CompareResult,
  found: Findings & Copied,
  unmerged: UnmergedResult | null,
): Record<CheckList, string> {
  const web = config.resolvePath('WebDir')
  fs.mkdirSync(web, { recursive: true })
  const base = path.join(web, `${site}_compare`)
  const outputs: Record<CheckList, string> = {
    missing: `${base}_missing.txt`,
    orphan: `${base}_orphan.txt`,
    empty: `${base}_empty.txt`,
    unlisted: `${base}_unlisted.txt`,
    sizeMismatch: `${base}_size_mismatch.txt`,
    nosource: `${base}_missing_nosite.txt`,
    unrecoverable: `${base}_unrecoverable.txt`,
    datasets: `${base}_missing_datasets.txt`,
    unmerged: `${base}_unmerged.txt`,
  }
  // the comparison's own lists, as its vetoes left them, are written by Rust from the lists it holds
  for (const kind of ['missing', 'orphan', 'empty', 'unlisted'] as const) {
    first.write(kind, outputs[kind])
  }
  writeList(
    outputs.sizeMismatch,
    found.sizeMismatch.map((f) => f.lfn),
    found.sizeMismatch.map((f) => `|${f.size}|${f.inventorySize}`),
  )
  writeList(outputs.nosource, found.noSource)
  writeList(outputs.unrecoverable, found.unrecoverable)
  if (unmerged)
    writeList(
      outputs.unmerged,
      unmerged.files.map((f) => f.lfn),
    )
  writeList(
    outputs.datasets,
    found.missingBlocks.map((b) => lfnFromText(`${b.count} ${b.group || '-'} ${b.block}`)),
  )
  return outputs
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
