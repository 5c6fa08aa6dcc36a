import { spawnSync } from 'node:child_process'
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'

export const ROOT = path.resolve(__dirname, '..', '..')
export const CLI = path.join(ROOT, 'bin', 'dynamo-consistency.js')

export interface Run {
  code: number
  stdout: string
  stderr: string
}

/** Run the CLI as a separate process, as a user would. */
export function cli(args: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv; prefix?: string[] } = {}): Run {
  const prefix = options.prefix ?? []
  const [cmd, ...rest] = [...prefix, process.execPath, CLI, ...args] as [string, ...string[]]
  const r = spawnSync(cmd, rest, {
    cwd: options.cwd ?? ROOT,
    env: { ...process.env, ...options.env },
    encoding: 'utf8',
    maxBuffer: 256 << 20,
  })
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr }
}

/** A temporary directory removed after the test file. */
export function tempDir(label: string): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), `dc-${label}-`))
  fs.chmodSync(d, 0o755)
  return d
}

/** Write a file, creating its directories, with the given mtime (unix seconds). */
export function writeFile(file: string, bytes: number | Buffer, mtime = 1_500_000_000): void {
  fs.mkdirSync(path.dirname(file), { recursive: true })
  fs.writeFileSync(file, typeof bytes === 'number' ? Buffer.alloc(bytes, 120) : bytes)
  fs.utimesSync(file, mtime, mtime)
}

/** The lines of a text file, without the last newline. */
export function lines(file: string): string[] {
  const text = fs.readFileSync(file, 'utf8')
  return text === '' ? [] : text.replace(/\n$/, '').split('\n')
}

/** Sort strings by their UTF-8 bytes, as the tool sorts its lists. */
export function byteSort(list: string[]): string[] {
  return [...list].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)))
}
