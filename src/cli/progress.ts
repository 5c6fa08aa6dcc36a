/** Listing progress on standard error: a bar on a terminal, plain lines otherwise. */
import type { ListProgress } from '../native'
import type { Output } from './command'

/** Bytes in decimal units: 16.8 kB, 2.3 TB. */
export function humanBytes(n: number): string {
  const units = ['B', 'kB', 'MB', 'GB', 'TB', 'PB']
  let i = 0
  while (n >= 1000 && i < units.length - 1) {
    n /= 1000
    i++
  }
  return `${n.toFixed(i === 0 ? 0 : 1)} ${units[i]}`
}

/** A progress reporter for one listing. */
export function progressReporter(io: Output, label: string): (p: ListProgress) => void {
  let lastLine = Date.now()
  return (p) => {
    const text =
      `${label}: ${p.dirsDone} directories listed, ${p.dirsQueued} queued, ${p.files} files, ` +
      `${humanBytes(p.bytes)}, ${Math.round(p.filesPerSecond)} files/s` +
      (p.unlisted ? `, ${p.unlisted} unlisted` : '')
    if (io.isTTY) {
      const total = p.dirsDone + p.dirsQueued
      const width = 24
      const filled = total ? Math.round((width * p.dirsDone) / total) : 0
      process.stderr.write(`\r[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${text}\x1b[K${p.done ? '\n' : ''}`)
    } else if (p.done || Date.now() - lastLine >= 5000) {
      lastLine = Date.now()
      io.err(text)
    }
  }
}
