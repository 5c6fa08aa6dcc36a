/** How figures read on the page: counts with separators, sizes in TB, durations and ages. */
import { DAY } from '../time'

const TB = 1e12

/** A count with thousands separators: 1,234,567. */
export function formatCount(n: number): string {
  return Math.round(n).toLocaleString('en-US')
}

/** Bytes as TB, as the summary table has them; sizes too small for two decimals say so. */
export function formatTB(bytes: number): string {
  if (bytes === 0) return '0'
  const tb = bytes / TB
  return tb < 0.01 ? '<0.01' : tb.toFixed(2)
}

/** Seconds as h:mm:ss (m:ss under an hour, days when over one, tenths of seconds under ten). */
export function formatDuration(seconds: number): string {
  if (seconds < 10) return `${Math.max(0, seconds).toFixed(1)} s`
  const s = Math.max(0, Math.round(seconds))
  const d = Math.floor(s / DAY)
  const h = Math.floor((s % DAY) / 3600)
  const m = Math.floor((s % 3600) / 60)
  const pad = (n: number) => String(n).padStart(2, '0')
  const clock = h > 0 || d > 0 ? `${h}:${pad(m)}:${pad(s % 60)}` : `${m}:${pad(s % 60)}`
  return d > 0 ? `${d}d ${clock}` : clock
}

/** A span of time in the largest unit that fits: "40 s", "5 min", "3 h", "2 d". */
export function formatSpan(seconds: number): string {
  const s = Math.max(0, Math.floor(seconds))
  if (s < 60) return `${s} s`
  if (s < 3600) return `${Math.floor(s / 60)} min`
  if (s < DAY * 2) return `${Math.floor(s / 3600)} h`
  return `${Math.floor(s / DAY)} d`
}

/** How long ago a time was: "just now", "5 min ago", "3 h ago", "2 d ago". */
export function formatAge(time: number, now: number): string {
  return now - time < 60 ? 'just now' : `${formatSpan(now - time)} ago`
}

/** A unix time as UTC, to the minute: 2024-05-01 13:07 UTC. */
export function formatTime(time: number): string {
  return `${new Date(time * 1000).toISOString().slice(0, 16).replace('T', ' ')} UTC`
}
