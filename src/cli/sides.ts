/** Reading one side of a comparison: a directory, a tree file or a listing file. */
import * as fs from 'node:fs'
import { DirectoryInfo } from '../datatypes'
import { ConsistencyError } from '../errors'
import type { ListingFormat } from '../native'
import * as binding from '../native'
import type { Output } from './command'
import { progressReporter } from './progress'

export async function readSide(
  where: string,
  label: string,
  io: Output,
  options: { format?: ListingFormat; threads?: number } = {},
): Promise<DirectoryInfo> {
  if (where.includes('://')) {
    const progress = progressReporter(io, label)
    const tree = await binding.listRemote(where, { threads: options.threads }, progress)
    await progress.shown()
    return new DirectoryInfo(tree)
  }
  let stat: fs.Stats
  try {
    stat = fs.statSync(where)
  } catch (err) {
    throw new ConsistencyError(
      'E_NOT_FOUND',
      `${label} ${where}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file or directory' : (err as Error).message}`,
    )
  }
  if (stat.isDirectory()) {
    const opts = options.threads === undefined ? {} : { threads: options.threads }
    const progress = progressReporter(io, label)
    const tree = await binding.listRemote(where, opts, progress)
    await progress.shown()
    return new DirectoryInfo(tree)
  }
  // opened once and told apart by its first bytes: a pipe gives them once
  return DirectoryInfo.read(where, options.format ?? 'auto')
}
