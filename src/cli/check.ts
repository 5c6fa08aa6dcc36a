/** `dynamo-consistency check --site PATTERN`: the full run on one site. */
import * as os from 'node:os'
import { HaltedError, runCheck } from '../check'
import { config } from '../config'
import { UsageError } from '../errors'
import { formatBytes, plural } from '../words'
import { parseArgs } from './args'
import type { Command } from './command'

const HELP = `Usage: dynamo-consistency check --site PATTERN [options]

The full consistency check of one site: picks the ready site matching
PATTERN (a name, or a regular expression matching whole names) that ran
longest ago, locks it, lists its inventory, lists its storage (the top
directories the inventory has), lists the inventory again, compares, and
reports. A file is missing only when both inventory listings hold it, an
orphan only when neither does.

At sites marked \`act\` (see set-status) it requests deletion of orphans and
empty directories and transfers of files missing in two runs in a row,
unless missing files exceed MaxMissing or orphans exceed MaxOrphan.

Writes WebDir/SITE_compare_{missing,orphan,empty,unlisted,missing_nosite,
unrecoverable,missing_datasets,size_mismatch}.txt, a log under VarLocation/logs/SITE/, and
the run's figures and findings to the summary store.

Options:
  --site PATTERN   the site or sites to pick from (required)
  --config FILE    the configuration file (default: $DYNAMO_CONSISTENCY_CONFIG)
  --quiet          print only the summary line
  --json           print the summary as one JSON object (keys in the README)
  --no-orphan      request no deletion of orphans this run (as DeleteOrphans false)
  --more-logs      also clean the site's AdditionalLogDeletions directories
                   (after UnmergedLogsAge days; sites in Unmerged only)
  --test           a dry run: nothing is asked of the registry, whatever the
                   site's flag (the original ran a test back end instead)
  --v1             the inventory and registry of Dynamo over MySQL for this run
                   (InventoryBackend dynamo; DynamoDatabase gives the server)
  -h, --help       show this help

The original's other options are accepted; ours does otherwise:
  --lock NAME      no effect: every site has its own lease, no named locks
  --update-summary no effect: every finished run updates the summary
  --info, --debug  no effect: the log is printed unless --quiet
  --cms            no effect: the CMS behaviour (/store, unmerged) is always on
  --no-sam         no effect: ours has no SAM readiness check
  --no-inventory   no effect: the inventory is always read (without it every
                   file would be an orphan)
  --unmerged       no effect: /store/unmerged is cleaned at every site in
                   Unmerged, with or without it
  --v1-reporting   no effect: the registry is the one InventoryBackend names
  --cnf FILE       no effect: MySQL credentials are in DynamoDatabase (mysql://)
  --date-string YYYYMMDD
                   no effect: a storage dump is named in AccessMethod (dump:FILE)
  --email          no effect: no mail is sent; a failure exits 1 and is logged

SIGINT or SIGTERM, or \`set-status SITE halt\` from anywhere, stop the run
within seconds in any phase: the site goes back to ready after a signal and
stays halted after a halt, and a run stopped before its report is committed
leaves nothing in the summary store. A second SIGINT or SIGTERM ends the
process at once.

With FreeMem (GB) set and less memory available, it runs nothing and
exits 0, as the original.

Exit status: 0 when the run finished (differences are not failures), no
site was ready or too little memory was free, 1 on failure or when stopped,
2 on bad usage, 3 when the run finished but no top directory of the
storage could be listed (a dead door: the run is recorded, with nothing
called missing), 4 when the storage refused the site's credentials (its
Credentials, or the environment's): the run stops at once and is recorded
failed, with one line naming the server and the credential.

Examples:
  dynamo-consistency check --site T2_US_MIT --config /etc/dynamo-consistency.yml
  dynamo-consistency check --site 'T2_.*' --quiet      # the T2 that ran longest ago
  dynamo-consistency check --site T2_US_MIT --json | jq .missing.count`

/** The original's options that ours accepts and that change nothing here (see the help). */
const ORIGINAL_NO_EFFECT = {
  lock: { value: true },
  'update-summary': { value: false },
  info: { value: false },
  debug: { value: false },
  cms: { value: false },
  'no-sam': { value: false },
  'no-inventory': { value: false },
  unmerged: { value: false },
  'v1-reporting': { value: false },
  cnf: { value: true },
  'date-string': { value: true },
  email: { value: false },
} as const

export const checkCommand: Command = {
  name: 'check',
  summary: 'the full check of one site: inventory, storage, compare, report, act',
  help: HELP,
  async run(args, io) {
    const { positional, options } = parseArgs(
      args,
      {
        site: { value: true },
        config: { value: true },
        quiet: { value: false },
        json: { value: false },
        'no-orphan': { value: false },
        'more-logs': { value: false },
        test: { value: false },
        v1: { value: false },
        ...ORIGINAL_NO_EFFECT,
      },
      'check',
    )
    if (positional.length) throw new UsageError(`check: unexpected argument ${positional[0]} (see check --help)`)
    if (typeof options.site !== 'string' || options.site === '') throw new UsageError('check needs --site PATTERN')
    if (typeof options.config === 'string') config.setLocation(options.config)
    // the defaults alone would check against ./var and an empty inventory: never what was meant
    if (config.LOCATION === null) {
      throw new UsageError('check needs a configuration: --config FILE or DYNAMO_CONSISTENCY_CONFIG')
    }
    // FreeMem, as the original: GB of available memory a run needs, else no run now
    const freeMem = config.get<number | boolean>('FreeMem')
    if (typeof freeMem === 'number' && os.freemem() < freeMem * 1024 ** 3) {
      io.err(
        `dynamo-consistency: not enough available memory: have ${(os.freemem() / 1024 ** 3).toFixed(1)} GB, want ${freeMem} GB (FreeMem); not running now`,
      )
      return 0
    }
    // --v1: Dynamo's database for this run, as an environment variable named as the key would
    const backendBefore = process.env.InventoryBackend
    if (options.v1) process.env.InventoryBackend = 'dynamo'
    const controller = new AbortController()
    const stop = (sig: NodeJS.Signals) => controller.abort(new Error(`received ${sig}`))
    process.once('SIGINT', stop)
    process.once('SIGTERM', stop)
    try {
      const report = await runCheck({
        site: options.site,
        signal: controller.signal,
        moreLogs: options['more-logs'] === true,
        noOrphan: options['no-orphan'] === true,
        dry: options.test === true,
        ...(options.quiet ? {} : { onLog: (line: string) => io.err(line) }),
      })
      if (!report) {
        if (options.json) io.out(JSON.stringify({ site: null, message: `no ready site matches ${options.site}` }))
        else io.out(`no ready site matches ${options.site}`)
        return 0
      }
      const s = report.stats
      if (options.json) {
        io.out(
          JSON.stringify({
            site: report.site,
            reporting: report.reporting,
            runId: report.runId,
            time: s.time,
            seconds: s.duration,
            files: s.files,
            directories: s.nodes,
            missing: { count: s.missing, size: s.missingSize, file: report.outputs.missing },
            orphan: { count: s.orphan, size: s.orphanSize, file: report.outputs.orphan },
            empty: { count: s.empty, file: report.outputs.empty },
            unlisted: { count: s.unlisted, errors: s.unlistedBad, file: report.outputs.unlisted },
            nosource: s.nosource,
            unrecoverable: s.unrecoverable,
            requested: report.requested,
            heldBack: s.heldBack,
            storageUnlisted: report.storageUnlisted,
            log: report.log,
          }),
        )
      } else {
        io.out(
          [
            `${report.site} (${report.reporting}): ${plural(s.files, 'file')} in ${plural(s.nodes, 'directory')}, ${s.duration.toFixed(1)} s`,
            `missing:       ${plural(s.missing, 'file')}, ${formatBytes(s.missingSize)} -> ${report.outputs.missing}`,
            `orphan:        ${plural(s.orphan, 'file')}, ${formatBytes(s.orphanSize)} -> ${report.outputs.orphan}`,
            `empty:         ${plural(s.empty, 'directory')}`,
            `unlisted:      ${plural(s.unlisted, 'directory')} (${s.unlistedBad} with errors)`,
            `no source:     ${s.nosource}, unrecoverable: ${s.unrecoverable}`,
            `requests:      ${plural(report.requested.deletions, 'deletion')}, ${plural(report.requested.transfers, 'transfer')}${s.heldBack ? ` (held back: ${s.heldBack})` : ''}`,
            `log:           ${report.log}`,
          ].join('\n'),
        )
      }
      if (report.storageUnlisted) {
        io.err(`dynamo-consistency: ${report.site}: no top directory of its storage could be listed (see the log)`)
        return 3
      }
      return 0
    } catch (err) {
      if (err instanceof HaltedError) {
        io.err(`dynamo-consistency: ${err.message}`)
        return 1
      }
      throw err
    } finally {
      process.off('SIGINT', stop)
      process.off('SIGTERM', stop)
      if (options.v1) {
        if (backendBefore === undefined) delete process.env.InventoryBackend
        else process.env.InventoryBackend = backendBefore
      }
    }
  },
}
