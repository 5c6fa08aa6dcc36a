/** `dynamo-consistency compare INVENTORY REMOTE`: compare two listings. */
import * as fs from 'node:fs'
import * as path from 'node:path'
import { LIMITS } from '../config'
import { compare, compareListingFiles } from '../datatypes'
import { UsageError } from '../errors'
import { type CompareResult, LISTING_FORMATS, type ListKind, MAX_THREADS } from '../native'
import { formatBytes, plural } from '../words'
import { choiceOption, numberOption, parseArgs } from './args'
import type { Command } from './command'
import { readSide } from './sides'

const HELP = `Usage: dynamo-consistency compare INVENTORY REMOTE [options]

Compare what an inventory says a site holds (INVENTORY) with what its storage
holds (REMOTE). Each side is a local directory (its files named by their path
below it, with a leading /), a listing file (one file a line: LFN, LFN|size,
LFN|size|mtime or LFN size [mtime]; blank lines and # comments skipped) or a
tree file saved by \`list\`.

Writes, one LFN a line:
  BASE_missing.txt    files in the inventory and not on storage (sorted by bytes)
  BASE_orphan.txt     files on storage unknown to the inventory (sorted by bytes)
  BASE_empty.txt      empty storage directories, deepest first
  BASE_unlisted.txt   storage directories that could not be listed

Options:
  -o, --output BASE    prefix of the output files (default: consistency)
  --ignore-age DAYS    do not compare files younger than this (default: 0)
  --format auto|ral    format of a REMOTE listing file (ral: storage dumps of
                       LFN size days-since-epoch)
  --threads N          workers for listing a directory side
  --json               print the summary as one JSON object
  -h, --help           show this help

Exit status: 0 when the comparison ran (differences are not failures),
1 on failure, 2 on bad usage.

Examples:
  dynamo-consistency compare inventory.txt /mnt/storage -o T2_US_MIT
  dynamo-consistency compare inventory.tree remote.tree --ignore-age 2
  dynamo-consistency compare inventory.txt dump.txt --format ral --json`

export const compareCommand: Command = {
  name: 'compare',
  summary: 'compare two listings (directories, listing files or tree files)',
  help: HELP,
  async run(args, io) {
    const { positional, options } = parseArgs(
      args,
      {
        output: { value: true, short: 'o' },
        'ignore-age': { value: true },
        format: { value: true },
        threads: { value: true },
        json: { value: false },
      },
      'compare',
    )
    if (positional.length !== 2) throw new UsageError(`compare needs INVENTORY and REMOTE (see compare --help)`)
    const [inventoryPath, remotePath] = positional as [string, string]
    const ignoreAge = numberOption(options, 'ignore-age', 'compare', { min: 0, max: LIMITS.days }) ?? 0
    const threads = numberOption(options, 'threads', 'compare', { min: 1, max: MAX_THREADS, integer: true })
    const format = choiceOption(options, 'format', 'compare', LISTING_FORMATS) ?? 'auto'
    const base = typeof options.output === 'string' ? options.output : 'consistency'
    const started = Date.now()
    const files: Record<ListKind, string> = {
      missing: `${base}_missing.txt`,
      orphan: `${base}_orphan.txt`,
      empty: `${base}_empty.txt`,
      unlisted: `${base}_unlisted.txt`,
    }
    // two listing files are compared without trees when they can be
    const isFile = (p: string) => !p.includes('://') && fs.statSync(p, { throwIfNoEntry: false })?.isFile() === true
    const listings =
      isFile(inventoryPath) && isFile(remotePath)
        ? await compareListingFiles(inventoryPath, remotePath, { ignoreAge, remoteFormat: format })
        : null
    let found: {
      result: CompareResult
      inventory: { files: number; size: number }
      remote: { files: number; size: number; directories: number }
    }
    if (listings) {
      const { files: invFiles, size: invSize } = listings.inventory
      found = { result: listings.result, inventory: { files: invFiles, size: invSize }, remote: listings.remote }
    } else {
      const sideOpts = threads === undefined ? { format } : { format, threads }
      // both sides are read at once: listing files parse on separate threads
      const [inventory, remote] = await Promise.all([
        readSide(inventoryPath, 'inventory', io, { ...sideOpts, format: 'auto' }),
        readSide(remotePath, 'remote', io, sideOpts),
      ])
      found = {
        result: (await compare(inventory, remote, null, { ignoreAge })).result,
        inventory: { files: inventory.fileCount, size: inventory.totalSize },
        remote: { files: remote.fileCount, size: remote.totalSize, directories: remote.nodeCount },
      }
    }
    const { result } = found
    fs.mkdirSync(path.dirname(path.resolve(base)), { recursive: true })
    for (const [kind, file] of Object.entries(files) as [ListKind, string][]) result.write(kind, file)
    const summary = {
      inventory: found.inventory,
      remote: found.remote,
      missing: { count: result.missingCount, size: result.missingSize, file: files.missing },
      orphan: { count: result.orphanCount, size: result.orphanSize, file: files.orphan },
      empty: { count: result.emptyCount, file: files.empty },
      unlisted: { count: result.unlistedCount, file: files.unlisted },
      ignoreAgeDays: ignoreAge,
      seconds: (Date.now() - started) / 1000,
    }
    if (options.json) {
      io.out(JSON.stringify(summary))
    } else {
      io.out(
        [
          `inventory: ${plural(summary.inventory.files, 'file')}, ${formatBytes(summary.inventory.size)}`,
          `remote:    ${plural(summary.remote.files, 'file')}, ${formatBytes(summary.remote.size)} in ${plural(summary.remote.directories, 'directory')}`,
          `missing:   ${plural(summary.missing.count, 'file')}, ${formatBytes(summary.missing.size)} -> ${files.missing}`,
          `orphan:    ${plural(summary.orphan.count, 'file')}, ${formatBytes(summary.orphan.size)} -> ${files.orphan}`,
          `empty:     ${plural(summary.empty.count, 'directory')} -> ${files.empty}`,
          `unlisted:  ${plural(summary.unlisted.count, 'directory')} -> ${files.unlisted}`,
        ].join('\n'),
      )
    }
    return 0
  },
}
