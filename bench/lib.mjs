// Shared helpers of the benchmarks: run a command under GNU time and read
// its wall time and peak memory; format figures.
import { spawnSync } from 'node:child_process'
import * as path from 'node:path'
import { fileURLToPath } from 'node:url'

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
export const CLI = path.join(ROOT, 'bin', 'dynamo-consistency.js')

/**
 * Run `bash -c script` under /usr/bin/time; returns seconds and peak RSS in
 * MB (of the largest single process: for a pipeline, time each step).
 */
export function measure(script, { env } = {}) {
  const r = spawnSync('/usr/bin/time', ['-f', '__TIME__ %e %M', 'bash', '-c', script], {
    encoding: 'utf8',
    env: { ...process.env, ...env },
    maxBuffer: 1 << 30,
  })
  const m = /__TIME__ ([\d.]+) (\d+)/.exec(r.stderr)
  if (r.status !== 0 || !m) throw new Error(`benchmark step failed (${r.status}): ${script}\n${r.stderr.slice(-2000)}`)
  return { seconds: Number(m[1]), peakMB: Number(m[2]) / 1024, stdout: r.stdout }
}

/** Several steps in a row: total time, peak memory of the largest step. */
export function measureSteps(scripts, opts) {
  let seconds = 0
  let peakMB = 0
  for (const s of scripts) {
    const r = measure(s, opts)
    seconds += r.seconds
    peakMB = Math.max(peakMB, r.peakMB)
  }
  return { seconds, peakMB }
}

export function q(p) {
  return `'${p.replace(/'/g, `'\\''`)}'`
}

export function table(rows) {
  const head = Object.keys(rows[0])
  const line = (cells) => `| ${cells.join(' | ')} |`
  return [line(head), line(head.map(() => '---')), ...rows.map((r) => line(head.map((h) => String(r[h]))))].join('\n')
}

export function fmt(n, digits = 2) {
  return Number(n).toFixed(digits)
}
