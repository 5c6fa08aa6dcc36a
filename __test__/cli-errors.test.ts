/** What the command line says when the system or its input is at fault: one line, no stack trace. */
import { spawnSync } from 'node:child_process'
import * as fs from 'node:fs'
import * as net from 'node:net'
import * as path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { openSummary } from '../src/summary/store'
import { CLI, cli, tempDir } from './helpers/cli'

let dir: string
let configFile: string

/** One line on standard error, naming the cause, and no stack frame. */
function oneLine(stderr: string, cause: RegExp): void {
  expect(stderr.trim().split('\n')).toHaveLength(1)
  expect(stderr).toMatch(cause)
  expect(stderr).not.toMatch(/\n\s+at /)
}

beforeAll(async () => {
  dir = tempDir('cli-errors')
  configFile = path.join(dir, 'config.json')
  fs.writeFileSync(configFile, JSON.stringify({ VarLocation: path.join(dir, 'var'), WebDir: path.join(dir, 'www') }))
  const store = await openSummary(path.join(dir, 'var', 'summary.db'))
  await store.close()
})

afterAll(() => {
  fs.rmSync(dir, { recursive: true, force: true })
})

describe('errors of the system', () => {
  it('a port already in use', async () => {
    const taken = net.createServer()
    await new Promise<void>((r) => taken.listen(0, '127.0.0.1', r))
    const port = (taken.address() as net.AddressInfo).port
    try {
      const r = cli(['web', 'serve', '--port', String(port), '--config', configFile])
      expect(r.code).toBe(1)
      oneLine(r.stderr, /EADDRINUSE/)
    } finally {
      await new Promise((r) => taken.close(r))
    }
  })

  it('an address that is not this host', () => {
    const r = cli(['web', 'serve', '--port', '0', '--host', '192.0.2.1', '--config', configFile])
    expect(r.code).toBe(1)
    oneLine(r.stderr, /EADDRNOTAVAIL/)
  })

  it('a listing of a door where nothing listens: exit 1, never an empty site', () => {
    const r = cli(['list', 'root://127.0.0.1:1//store', '--timeout', '1', '--retries', '0'])
    expect(r.code).toBe(1)
    expect(r.stdout).toBe('')
    expect(r.stderr).toMatch(/unlisted: \/store: /)
    expect(r.stderr).toMatch(/no file listed, 1 directory unlisted/)
  })

  it('a full disk on standard output', () => {
    const listing = path.join(dir, 'listing.txt')
    fs.writeFileSync(listing, '/store/a|1|2\n')
    const full = fs.openSync('/dev/full', 'w')
    try {
      const r = spawnSync(
        process.execPath,
        [CLI, 'compare', listing, listing, '--json', '--output', path.join(dir, 'x')],
        {
          stdio: ['ignore', full, 'pipe'],
          encoding: 'utf8',
        },
      )
      expect(r.status).toBe(1)
      oneLine(r.stderr, /standard output: .*ENOSPC|no space/i)
    } finally {
      fs.closeSync(full)
    }
  })
})

describe('errors of the configuration', () => {
  it('a configuration that is a directory', () => {
    const r = cli(['web', 'install', '--config', dir])
    expect(r.code).toBe(1)
    oneLine(r.stderr, /cannot read the configuration: .*EISDIR/)
  })

  it('keys of every object are unknown keys', () => {
    for (const key of ['__proto__', 'toString', 'constructor', 'hasOwnProperty']) {
      const file = path.join(dir, `bad-${key}.json`)
      fs.writeFileSync(file, `{"${key}": {"x": 1}}`)
      const r = cli(['web', 'install', '--config', file])
      expect(r.code).toBe(1)
      oneLine(r.stderr, new RegExp(`unknown key ${key}`))
    }
  })

  it('check without any configuration is bad usage, and creates nothing', () => {
    const cwd = tempDir('no-config')
    const env = { ...process.env }
    delete env.DYNAMO_CONSISTENCY_CONFIG
    const r = spawnSync(process.execPath, [CLI, 'check', '--site', 'T2_US_MIT'], { cwd, env, encoding: 'utf8' })
    expect(r.status).toBe(2)
    oneLine(r.stderr, /check needs a configuration/)
    expect(fs.readdirSync(cwd)).toEqual([])
  })
})
