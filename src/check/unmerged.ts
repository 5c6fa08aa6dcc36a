/**
 * Cleaning CMS `/store/unmerged` at the sites the configuration's
 * `Unmerged` lists: files older than `UnmergedMinAge` days, and log files
 * (below `/store/unmerged/logs`) older than `UnmergedLogsAge` days, are
 * deletable unless an LFN directory in the protected list (`ListDeletable`:
 * a file or an http(s) URL holding a JSON list, `{"protected": [...]}`, or
 * one LFN a line) covers them, or they lie below `UnmergedDirsToAvoid`.
 */
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import { config } from '../config'
import { ConfigError, native } from '../errors'
import { listSite } from './remote'

const DAY = 86_400

/** Read the protected LFN directories. */
export async function protectedUnmerged(source: string): Promise<string[]> {
  if (!source) return []
  let text: string
  if (/^https?:\/\//.test(source)) {
    const res = await fetch(source, { signal: AbortSignal.timeout(60_000) })
    if (!res.ok) throw new ConfigError(`ListDeletable ${source}: HTTP ${res.status}`)
    text = await res.text()
  } else {
    const base = config.LOCATION ? path.dirname(config.LOCATION) : process.cwd()
    const file = path.resolve(base, source)
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

/** Split a `LFN|size|mtime` line of a written listing (`\\`, `\\|`, `\\n`... escaped). */
function parseLine(line: string): { lfn: string; size: number; mtime: number } {
  const fields: string[] = ['']
  for (let i = 0; i < line.length; i++) {
    const c = line[i] as string
    if (c === '\\' && i + 1 < line.length) {
      const next = line[++i] as string
      fields[fields.length - 1] += next === 'n' ? '\n' : next === 'r' ? '\r' : next === 't' ? '\t' : next
    } else if (c === '|') fields.push('')
    else fields[fields.length - 1] += c
  }
  const [lfn, size, mtime] = fields as [string, string?, string?]
  return { lfn, size: size === undefined ? -1 : Number(size), mtime: mtime === undefined ? 0 : Number(mtime) }
}

function under(lfn: string, dir: string): boolean {
  const d = dir.replace(/\/+$/, '')
  return lfn === d || lfn.startsWith(`${d}/`)
}

export interface UnmergedResult {
  /** Deletable files, sorted. */
  files: { lfn: string; size: number }[]
  size: number
  /** Files listed below /store/unmerged. */
  listed: number
}

/** List a site's /store/unmerged and pick what may be deleted. */
export async function findUnmerged(site: string, signal?: AbortSignal): Promise<UnmergedResult> {
  const root = `${config.get<string>('RootPath').replace(/\/+$/, '')}/unmerged`
  const logs = `${root}/logs`
  const protectedDirs = await protectedUnmerged(config.get<string>('ListDeletable'))
  const avoid = config.get<string[]>('UnmergedDirsToAvoid')
  const now = Date.now() / 1000
  const minAge = config.get<number>('UnmergedMinAge') * DAY
  const logsAge = config.get<number>('UnmergedLogsAge') * DAY
  const tree = await listSite(site, [root], signal ? { signal } : {})
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'dc-unmerged-'))
  const listing = path.join(tmp, 'unmerged.txt')
  try {
    native(() => tree.tree.writeListing(listing))
    const files: { lfn: string; size: number }[] = []
    let size = 0
    for (const line of fs.readFileSync(listing, 'utf8').split('\n')) {
      if (!line) continue
      const { lfn, size: fileSize, mtime } = parseLine(line)
      if (!under(lfn, root)) continue
      const age = now - mtime
      if (avoid.some((d) => under(lfn, d)) || protectedDirs.some((d) => under(lfn, d))) continue
      if (age <= (under(lfn, logs) ? logsAge : minAge)) continue
      files.push({ lfn, size: fileSize })
      if (fileSize > 0) size += fileSize
    }
    return { files, size, listed: tree.fileCount }
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true })
  }
}
