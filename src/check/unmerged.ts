/**
 * Cleaning CMS `/store/unmerged` at the sites the configuration's
 * `Unmerged` lists: files older than `UnmergedMinAge` days, and log files
 * (below `/store/unmerged/logs`) older than `UnmergedLogsAge` days, are
 * deletable unless an LFN directory in the protected list (`ListDeletable`:
 * a file or an http(s) URL holding a JSON list, `{"protected": [...]}`, or
 * one LFN a line) covers them, or they lie below `UnmergedDirsToAvoid`.
 *
 * As the original, no protected list (none configured, or an empty one)
 * means nothing is deletable: an empty list is a fault upstream, never a
 * licence to clean everything. A protected entry covers every LFN it is a prefix of,
 * and the protected list is read after the listing, so that what was
 * protected while the site was listed is protected too. A file whose mtime
 * the listing did not give (0) is never deletable.
 */
import * as fs from 'node:fs'
import { config } from '../config'
import { ConfigError } from '../errors'
import { type Lfn, lfnFromText, lfnsFromBuffer } from '../lfn'
import { listSite } from '../site-listing'
import { DAY, now } from '../time'
import { type Run, throwIfAborted } from './context'

/** Read the protected LFN directories. */
export async function protectedUnmerged(source: string, signal?: AbortSignal): Promise<string[]> {
  if (!source) return []
  let text: string
  if (/^https?:\/\//.test(source)) {
    const timeout = AbortSignal.timeout(60_000)
    const res = await fetch(source, { signal: signal ? AbortSignal.any([signal, timeout]) : timeout })
    if (!res.ok) throw new ConfigError(`ListDeletable ${source}: HTTP ${res.status}`)
    text = await res.text()
  } else {
    const file = config.relativePath(source)
    try {
      text = fs.readFileSync(file, 'utf8')
    } catch (err) {
      throw new ConfigError(`ListDeletable ${file}: ${(err as Error).message}`, { file })
    }
  }
  const trimmed = text.trim()
  if (trimmed.startsWith('{') || trimmed.startsWith('[')) {
    let parsed: unknown
    try {
      parsed = JSON.parse(trimmed)
    } catch (err) {
      throw new ConfigError(`ListDeletable ${source}: not valid JSON: ${(err as Error).message}`)
    }
    const list = Array.isArray(parsed) ? parsed : (parsed as { protected?: unknown }).protected
    if (!Array.isArray(list) || !list.every((x) => typeof x === 'string')) {
      throw new ConfigError(`ListDeletable ${source}: expected a list of LFNs or {"protected": [...]}`)
    }
    return list
  }
  return trimmed
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'))
}

function under(lfn: Lfn, dir: Lfn): boolean {
  const d = dir.replace(/\/+$/, '')
  return lfn === d || lfn.startsWith(`${d}/`)
}

export interface UnmergedResult {
  /** Deletable files, sorted by bytes. */
  files: { lfn: Lfn; size: number }[]
  size: number
  /** Files listed below /store/unmerged. */
  listed: number
  /** Why nothing was picked, when the protected list was missing or empty. */
  refused?: string
}

/**
 * List a site's /store/unmerged and pick what may be deleted. With
 * `moreLogs` (`check --more-logs`, as the original's option), the site's
 * `AdditionalLogDeletions` directories (below `RootPath`, or LFNs when
 * they begin with /) are listed too
 * and cleaned as unmerged logs are, after `UnmergedLogsAge` days. A site in
 * `UnmergedRoot` has its unmerged (and those directories, and the avoided
 * ones) below that root instead, as the original's `AlternateRoot`.
 */
export async function findUnmerged(
  site: string,
  signal?: AbortSignal,
  options: { moreLogs?: boolean } = {},
): Promise<UnmergedResult> {
  const rootPath = config.get<string>('RootPath').replace(/\/+$/, '')
  // the site's unmerged may lie below another root (UnmergedRoot: the original's AlternateRoot)
  const siteRoot = config.site<string>('UnmergedRoot', site, rootPath).replace(/\/+$/, '')
  const root = lfnFromText(`${siteRoot}/unmerged`)
  const logDirs = [`${root}/logs` as Lfn]
  if (options.moreLogs) {
    for (const dir of config.site<string[]>('AdditionalLogDeletions', site, [])) {
      // relative to the root, or an LFN of its own (as the original joined them)
      logDirs.push(
        lfnFromText(dir.startsWith('/') ? dir.replace(/\/+$/, '') : `${siteRoot}/${dir.replace(/\/+$/, '')}`),
      )
    }
  }
  const roots = [root, ...logDirs.filter((d) => !under(d, root))]
  // avoided directories follow the site's unmerged to its other root
  const usual = `${rootPath}/unmerged`
  const avoid = config
    .get<string[]>('UnmergedDirsToAvoid')
    .map((d) => lfnFromText(siteRoot !== rootPath && under(d as Lfn, usual as Lfn) ? root + d.slice(usual.length) : d))
  const at = now()
  const minAge = config.get<number>('UnmergedMinAge') * DAY
  const logsAge = config.get<number>('UnmergedLogsAge') * DAY
  const source = config.get<string>('ListDeletable')
  if (!source) {
    return { files: [], size: 0, listed: 0, refused: 'no protected list configured (ListDeletable): not cleaning' }
  }
  const { tree } = await listSite(site, signal ? { roots, signal } : { roots })
  const protectedPrefixes = (await protectedUnmerged(source, signal)).map(lfnFromText)
  if (!protectedPrefixes.length) {
    return {
      files: [],
      size: 0,
      listed: tree.fileCount,
      refused: `the protected list ${source} is empty: not cleaning`,
    }
  }
  const columns = tree.tree.fileColumns()
  const lfns = lfnsFromBuffer(columns.lfns)
  const files: { lfn: Lfn; size: number }[] = []
  let size = 0
  for (let i = 0; i < lfns.length; i++) {
    const lfn = lfns[i] as Lfn
    const fileSize = columns.sizes[i] as number
    const isLog = logDirs.some((d) => under(lfn, d))
    if (!isLog && !under(lfn, root)) continue
    const mtime = columns.mtimes[i] as number
    if (mtime === 0) continue
    const age = at - mtime
    if (avoid.some((d) => under(lfn, d)) || protectedPrefixes.some((p) => lfn.startsWith(p))) continue
    if (age <= (isLog ? logsAge : minAge)) continue
    files.push({ lfn, size: fileSize })
    if (fileSize > 0) size += fileSize
  }
  return { files, size, listed: tree.fileCount }
}

/** The unmerged step of a check: /store/unmerged, at the sites that have it cleaned; null at the others. */
export async function unmergedOf(run: Run): Promise<UnmergedResult | null> {
  if (!config.get<string[]>('Unmerged').includes(run.site)) return null
  const unmerged = await findUnmerged(run.site, run.signal, { moreLogs: run.options.moreLogs === true })
  if (unmerged.refused) run.log.info(`unmerged: ${unmerged.refused}`)
  else run.log.info(`unmerged: ${unmerged.files.length} of ${unmerged.listed} files deletable (${unmerged.size} bytes)`)
  throwIfAborted(run)
  return unmerged
}
