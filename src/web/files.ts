/**
 * Where the page's files are: the result lists the check writes into
 * WebDir, the run logs under VarLocation, the running configuration, and
 * the page's own assets (the browser scripts and the bundled uPlot).
 */
import * as fs from 'node:fs'
import * as path from 'node:path'
import { redact } from '../backends/sql'
import { config } from '../config'

/** The result lists of a site, as the check names them in WebDir, in the order the page links them. */
export const LISTS = [
  { kind: 'missing', suffix: '_compare_missing.txt', label: 'missing' },
  { kind: 'datasets', suffix: '_compare_missing_datasets.txt', label: 'blocks' },
  { kind: 'nosource', suffix: '_compare_missing_nosite.txt', label: 'no source' },
  { kind: 'unrecoverable', suffix: '_compare_unrecoverable.txt', label: 'unrecoverable' },
  { kind: 'orphan', suffix: '_compare_orphan.txt', label: 'orphan' },
  { kind: 'sizeMismatch', suffix: '_compare_size_mismatch.txt', label: 'size mismatch' },
  { kind: 'empty', suffix: '_compare_empty.txt', label: 'empty' },
  { kind: 'unlisted', suffix: '_compare_unlisted.txt', label: 'unlisted' },
] as const

export type ListKind = (typeof LISTS)[number]['kind']

/** The file name (in WebDir) of a site's list. */
export function listFileName(site: string, kind: ListKind): string {
  const spec = LISTS.find((l) => l.kind === kind) as (typeof LISTS)[number]
  return `${site}${spec.suffix}`
}

/** Whether a name (no directories) is one of the result lists, and so may be served from WebDir. */
export function isListFileName(name: string): boolean {
  return !name.includes('/') && !name.startsWith('.') && LISTS.some((l) => name.endsWith(l.suffix))
}

/** The newest log of a site's runs (`VarLocation/logs/SITE/*.log`), or null. */
export function latestLog(site: string): string | null {
  if (site === '' || site === '.' || site === '..' || site.includes('/') || site.includes('\0')) return null
  const dir = path.join(config.resolvePath('VarLocation'), 'logs', site)
  let best: { file: string; mtime: number } | null = null
  let names: string[]
  try {
    names = fs.readdirSync(dir)
  } catch {
    return null
  }
  for (const name of names) {
    if (!name.endsWith('.log')) continue
    const file = path.join(dir, name)
    try {
      const mtime = fs.statSync(file).mtimeMs
      // the names are timestamps: the later name wins a tie of mtimes
      if (!best || mtime > best.mtime || (mtime === best.mtime && name > path.basename(best.file))) {
        best = { file, mtime }
      }
    } catch {
      // removed meanwhile
    }
  }
  return best?.file ?? null
}

/** The configuration in force, as JSON, with database passwords hidden. */
export function runningConfiguration(): string {
  const values = config.configDict()
  const shown: Record<string, unknown> = {}
  for (const [key, value] of Object.entries(values)) shown[key] = typeof value === 'string' ? redact(value) : value
  return `${JSON.stringify({ configuration: config.LOCATION, values: shown }, null, 2)}\n`
}

/** The page's assets: name in `assets/` to file and content type. */
export const ASSETS: Record<string, { type: string; file: () => string }> = {
  'uPlot.iife.min.js': { type: 'text/javascript', file: () => require.resolve('uplot/dist/uPlot.iife.min.js') },
  'uPlot.min.css': { type: 'text/css', file: () => require.resolve('uplot/dist/uPlot.min.css') },
  'common.js': { type: 'text/javascript', file: () => clientScript('common.js') },
  'summary.js': { type: 'text/javascript', file: () => clientScript('summary.js') },
  'site.js': { type: 'text/javascript', file: () => clientScript('site.js') },
}

/**
 * The browser scripts are compiled from `src/web/client/*.ts` by the
 * TypeScript build: beside this module in `dist/`, or in `dist/` when this
 * module runs from the sources (the tests).
 */
function clientScript(name: string): string {
  const beside = path.join(__dirname, 'client', name)
  if (fs.existsSync(beside)) return beside
  return path.resolve(__dirname, '..', '..', 'dist', 'web', 'client', name)
}
