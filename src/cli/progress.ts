/**
 * Listing progress on standard error: on a terminal one line, redrawn in
 * place and fitted to the terminal's width; otherwise (cron, a pipe) a
 * plain line every 5 s and at the end.
 */
import type { ListProgress } from '../native'
import { formatBytes, plural } from '../words'
import type { Output } from './command'

/** Seconds as m:ss, or h:mm:ss from an hour on. */
export function clock(seconds: number): string {
  const s = Math.max(0, Math.round(seconds))
  const pad = (n: number) => String(n).padStart(2, '0')
  const h = Math.floor(s / 3600)
  const m = Math.floor((s % 3600) / 60)
  return h > 0 ? `${h}:${pad(m)}:${pad(s % 60)}` : `${m}:${pad(s % 60)}`
}

const count = (n: number) => Math.round(n).toLocaleString('en-US')

/**
 * The progress of a listing in at most `width` characters. Files and
 * directories come first, then the rate, the elapsed time and, when the
 * number of files to expect is known, the share done and the time left;
 * what does not fit is left out, least useful first.
 */
export function progressLine(label: string, p: ListProgress, width: number, expectedFiles?: number): string {
  const files = `${count(p.files)} ${p.files === 1 ? 'file' : 'files'}`
  const dirs = `${count(p.dirsDone)} ${p.dirsDone === 1 ? 'dir' : 'dirs'}`
  const parts: { text: string; rank: number }[] = [
    { text: `${label}:`, rank: 0 },
    { text: files, rank: 0 },
    { text: dirs, rank: 1 },
  ]
  if (p.dirsQueued) parts.push({ text: `(${count(p.dirsQueued)} queued)`, rank: 6 })
  parts.push({ text: formatBytes(p.bytes), rank: 5 })
  parts.push({ text: `${count(p.filesPerSecond)} files/s`, rank: 2 })
  parts.push({ text: clock(p.elapsedSeconds), rank: 3 })
  if (expectedFiles && expectedFiles > 0) {
    const share = Math.min(1, p.files / expectedFiles)
    const left = p.filesPerSecond > 0 ? Math.max(0, expectedFiles - p.files) / p.filesPerSecond : null
    parts.push({ text: `${Math.floor(share * 100)}%`, rank: 1 })
    parts.push({ text: `ETA ${left === null ? '?' : clock(left)}`, rank: 2 })
  }
  if (p.unlisted) parts.push({ text: `${count(p.unlisted)} unlisted`, rank: 1 })
  // drop the least useful parts until the line fits
  let kept = parts
  for (let rank = 6; rank > 0 && kept.map((x) => x.text).join(' ').length > width; rank--) {
    kept = kept.filter((x) => x.rank < rank)
  }
  const line = kept.map((x) => x.text).join(' ')
  return line.length > width ? line.slice(0, Math.max(0, width)) : line
}

/** The terminal's width: that of standard error, 80 when it says none. */
function terminalWidth(): number {
  const columns = process.stderr.columns
  return typeof columns === 'number' && columns > 0 ? columns : 80
}

/** A listing's progress reporter, and what tells when its last event has been shown. */
export interface ProgressReporter {
  (p: ListProgress): void
  /**
   * Resolves once the last event (`done`) has been shown, or after
   * `waitMs` without it: the last event crosses from the listing's thread
   * on its own and may arrive after the listing's result, so the line after
   * the listing waits for it rather than come before it.
   */
  shown(waitMs?: number): Promise<void>
}

/** A progress reporter for one listing; `expectedFiles`, when known, gives the share done and the time left. */
export function progressReporter(io: Output, label: string, expectedFiles?: number): ProgressReporter {
  let lastLine = Date.now()
  let lastShown = false
  let onLast: (() => void) | undefined
  const report = (p: ListProgress) => {
    if (io.isTTY) {
      // one column short of the width: a line that fills it wraps on some terminals
      const line = progressLine(label, p, terminalWidth() - 1, expectedFiles)
      process.stderr.write(`\r${line}\x1b[K${p.done ? '\n' : ''}`)
    } else if (p.done || Date.now() - lastLine >= 5000) {
      lastLine = Date.now()
      io.err(
        `${label}: ${plural(p.dirsDone, 'directory')} listed, ${p.dirsQueued} queued, ${plural(p.files, 'file')}, ` +
          `${formatBytes(p.bytes)}, ${Math.round(p.filesPerSecond)} files/s, ${clock(p.elapsedSeconds)}` +
          (p.unlisted ? `, ${p.unlisted} unlisted` : ''),
      )
    }
    if (p.done) {
      lastShown = true
      onLast?.()
    }
  }
  const shown = (waitMs = 2000) =>
    lastShown
      ? Promise.resolve()
      : new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, waitMs)
          onLast = () => {
            clearTimeout(timer)
            resolve()
          }
        })
  return Object.assign(report, { shown })
}
