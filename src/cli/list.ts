/** `dynamo-consistency list URL-or-PATH`: list storage into a tree or text file. */

import { credentialEnvironment, useNativeCredentials } from '../credentials'
import { UsageError } from '../errors'
import {
  DEFAULT_DEPTH,
  LIST_METHODS,
  type ListOptions,
  MAX_DEPTH,
  MAX_RETRIES,
  MAX_SECONDS,
  MAX_THREADS,
} from '../native'
import { nativeListing } from '../site-listing'
import { formatBytes, plural } from '../words'
import { choiceOption, numberOption, parseArgs } from './args'
import type { Command } from './command'
import { progressReporter } from './progress'

const HELP = `Usage: dynamo-consistency list URL-or-PATH [options]

List storage: a local directory (its files named by their path below it, with
a leading /) or a server (root://host:port//path). Directories that cannot be
listed after their retries are recorded as unlisted, with the reason.

Options:
  -o, --output FILE           where to write (default: text on standard output)
  --format tree|text          tree: the binary tree file (default with --output);
                              text: LFN|size|mtime a line, sorted by bytes, which
                              \`compare\` reads back (default without --output)
  --threads N                 parallel workers or connections, 1 to ${MAX_THREADS}
                              (default 8 local, 4 remote)
  --method native|xrdfs|gfal  how to reach a server (default native)
  --depth N                   native: requests in flight on each connection,
                              0 to ${MAX_DEPTH} (default ${DEFAULT_DEPTH}; 0: one synchronous request
                              at a time)
  --retries N                 further attempts per failed directory, 0 to ${MAX_RETRIES}
                              (default 2)
  --timeout SECONDS           limit for one directory listing, 0.001 to ${MAX_SECONDS}
                              (default 300)
  --resume                    go on from FILE.checkpoint left by an interrupted run
  --proxy FILE                the X.509 proxy to authenticate with (GSI;
                              sets X509_USER_PROXY)
  --cert-dir DIR              the trusted CAs (sets X509_CERT_DIR)
  --keytab FILE               the shared-secret keytab (sss; sets XrdSecSSSKT)
  --token FILE                the bearer token file (sets BEARER_TOKEN_FILE)
  --expect-files N            the files the listing should find (say, the last
                              listing's): the progress shows the share done
                              and the time left
  --json                      print a summary as one JSON object (needs --output;
                              keys in the README)
  -h, --help                  show this help

A listing with --output keeps a checkpoint in FILE.checkpoint while it runs;
it is removed when the listing ends.

Without credential options the client libraries read the environment
(X509_USER_PROXY, X509_CERT_DIR, XrdSecSSSKT, BEARER_TOKEN_FILE,
XrdSecPROTOCOL), as xrdfs does.

Exit status: 0 when the listing ran (unlisted directories are named on
standard error), 1 when it listed no file and some directory could not be
listed (a dead door: never taken for an empty site), 2 on bad usage, 4
when the server refused the credentials (none, expired, untrusted, a
wrong key): the listing stops at once, with one line naming the server
and the credentials.

Progress goes to standard error: on a terminal one line fitted to its
width, otherwise a plain line every 5 s. The last line says what was
written where.

Examples:
  dynamo-consistency list /mnt/storage/store > listing.txt
  dynamo-consistency list root://eoscms.cern.ch//store/mc -o mc.tree --threads 8
  dynamo-consistency list root://xrootd.cmsaf.mit.edu//store -o mit.tree --resume
  dynamo-consistency list /mnt/storage/store -o listing.txt --format text --json`

export const listCommand: Command = {
  name: 'list',
  summary: 'list storage into a tree file or a text listing',
  help: HELP,
  async run(args, io) {
    const { positional, options } = parseArgs(
      args,
      {
        output: { value: true, short: 'o' },
        format: { value: true },
        threads: { value: true },
        method: { value: true },
        depth: { value: true },
        retries: { value: true },
        timeout: { value: true },
        resume: { value: false },
        'expect-files': { value: true },
        proxy: { value: true },
        'cert-dir': { value: true },
        keytab: { value: true },
        token: { value: true },
        json: { value: false },
      },
      'list',
    )
    if (positional.length !== 1) throw new UsageError('list needs one URL or PATH (see list --help)')
    const target = positional[0] as string
    const output = typeof options.output === 'string' ? options.output : undefined
    const format = options.format ?? (output ? 'tree' : 'text')
    if (format !== 'tree' && format !== 'text')
      throw new UsageError(`list: --format must be tree or text, not ${String(format)}`)
    if (format === 'tree' && !output) throw new UsageError('list: --format tree needs --output FILE')
    if (options.resume && !output)
      throw new UsageError('list: --resume needs --output FILE (its checkpoint is FILE.checkpoint)')
    if (options.json && !output)
      throw new UsageError('list: --json needs --output FILE (the listing would share standard output)')
    const expectedFiles = numberOption(options, 'expect-files', 'list', { min: 1, max: 1e12, integer: true })
    const method = choiceOption(options, 'method', 'list', LIST_METHODS)
    const listOptions: ListOptions = {}
    const threads = numberOption(options, 'threads', 'list', { min: 1, max: MAX_THREADS, integer: true })
    const depth = numberOption(options, 'depth', 'list', { min: 0, max: MAX_DEPTH, integer: true })
    const retries = numberOption(options, 'retries', 'list', { min: 0, max: MAX_RETRIES, integer: true })
    const timeout = numberOption(options, 'timeout', 'list', { min: 0.001, max: MAX_SECONDS })
    if (threads !== undefined) listOptions.threads = threads
    if (depth !== undefined) listOptions.depth = depth
    if (retries !== undefined) listOptions.retries = retries
    if (timeout !== undefined) listOptions.timeout = timeout
    if (method !== undefined) listOptions.method = method
    const credentials: Record<string, string> = {}
    for (const [option, key] of [
      ['proxy', 'proxy'],
      ['cert-dir', 'certDir'],
      ['keytab', 'keytab'],
      ['token', 'token'],
    ] as const) {
      const value = options[option]
      if (value === undefined) continue
      if (typeof value !== 'string' || value === '') throw new UsageError(`list: --${option} needs a file`)
      credentials[key] = value
    }
    const env = credentialEnvironment(credentials)
    if (Object.keys(env).length) {
      if (method === 'xrdfs' || method === 'gfal') listOptions.environment = env
      else useNativeCredentials(target, env)
    }
    if (output) {
      listOptions.checkpoint = `${output}.checkpoint`
      listOptions.resume = Boolean(options.resume)
    }
    const controller = new AbortController()
    const stop = () => controller.abort()
    process.once('SIGINT', stop)
    process.once('SIGTERM', stop)
    try {
      const started = Date.now()
      const progress = progressReporter(io, 'list', expectedFiles)
      const tree = await nativeListing(target, listOptions, { onProgress: progress, signal: controller.signal })
      await progress.shown()
      if (!output) tree.writeListingToStdout()
      else if (format === 'tree') tree.save(output)
      else tree.writeListing(output)
      const unlisted = tree.getUnlisted()
      for (const u of unlisted.slice(0, 20)) io.err(`unlisted: ${u.path}: ${u.reason}`)
      if (unlisted.length > 20)
        io.err(`... and ${plural(unlisted.length - 20, 'more unlisted directory', 'more unlisted directories')}`)
      const seconds = (Date.now() - started) / 1000
      const where = output ? `${output} (${format})` : 'standard output (text)'
      io.err(
        `list: ${plural(tree.fileCount, 'file')} (${formatBytes(tree.totalSize)}) in ${plural(tree.nodeCount, 'directory')}` +
          `${unlisted.length ? `, ${unlisted.length} unlisted` : ''} in ${seconds.toFixed(1)} s -> ${where}`,
      )
      if (options.json) {
        io.out(
          JSON.stringify({
            target,
            output,
            format,
            files: tree.fileCount,
            directories: tree.nodeCount,
            size: tree.totalSize,
            unlisted: {
              count: unlisted.length,
              directories: unlisted.map((u) => ({ path: u.path, reason: u.reason })),
            },
            seconds,
          }),
        )
      }
      // nothing seen and something failed: a dead door or refused credentials, never an empty site
      if (tree.fileCount === 0 && unlisted.length > 0) {
        io.err(`dynamo-consistency: list: no file listed, ${plural(unlisted.length, 'directory')} unlisted`)
        return 1
      }
      return 0
    } finally {
      process.off('SIGINT', stop)
      process.off('SIGTERM', stop)
    }
  },
}
