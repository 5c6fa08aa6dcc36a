/** `dynamo-consistency invalidate [--site PATTERN]`: declare recorded missing files lost. */
import * as readline from 'node:readline'
import { matchSites, openBackend } from '../backends'
import { config } from '../config'
import { UsageError } from '../errors'
import { type Lfn, lfnForDisplay } from '../lfn'
import { openSummary } from '../summary/store'
import { plural } from '../words'
import { parseArgs } from './args'
import type { Command } from './command'

const HELP = `Usage: dynamo-consistency invalidate [--site PATTERN] [options]

For every site marked \`act\` (and matching PATTERN, a regular expression
matching whole names), declare the missing files of its last check lost in
the inventory (Dynamo's local_invalidations) and mark them acted on.
Dry sites are skipped.

It writes to the registry: it says what it would request and asks before
it does, unless --yes. Without a terminal to ask on (cron, a pipe) it
refuses to run unless --yes or --dry-run is given.

Options:
  --site PATTERN   the act sites to invalidate at (default: all of them)
  --dry-run        print what would be requested; write nothing
  -y, --yes        do not ask: request at once
  --config FILE    the configuration file (default: $DYNAMO_CONSISTENCY_CONFIG)
  -h, --help       show this help

Examples:
  dynamo-consistency invalidate --dry-run
  dynamo-consistency invalidate --site 'T2_US_.*'
  dynamo-consistency invalidate --site T2_US_MIT --yes`

/** Ask a yes/no question on the terminal; only "y" or "yes" is a yes. */
async function confirm(question: string): Promise<boolean> {
  const rl = readline.createInterface({ input: process.stdin, output: process.stderr })
  try {
    const answer = await new Promise<string>((resolve) => {
      rl.once('close', () => resolve(''))
      rl.question(question, resolve)
    })
    return /^y(es)?$/i.test(answer.trim())
  } finally {
    rl.close()
  }
}

export const invalidateCommand: Command = {
  name: 'invalidate',
  summary: 'declare the recorded missing files of act sites lost in the inventory',
  help: HELP,
  async run(args, io) {
    const { positional, options } = parseArgs(
      args,
      {
        site: { value: true },
        config: { value: true },
        'dry-run': { value: false },
        yes: { value: false, short: 'y' },
      },
      'invalidate',
    )
    if (positional.length) throw new UsageError(`invalidate: unexpected argument ${positional[0]}`)
    const dryRun = options['dry-run'] === true
    const ask = !dryRun && options.yes !== true
    if (ask && !process.stdin.isTTY) {
      throw new UsageError('invalidate writes to the registry: give --yes (or --dry-run) when not run from a terminal')
    }
    if (typeof options.config === 'string') config.setLocation(options.config)
    const pattern = typeof options.site === 'string' ? options.site : '.*'
    const store = await openSummary()
    try {
      const sites = matchSites(
        (await store.sites()).filter((s) => s.reporting === 'act').map((s) => s.site),
        pattern,
      )
      if (sites.length === 0) {
        io.out(`no act site matches ${pattern}`)
        return 0
      }
      const plan: { site: string; run: number; lfns: Lfn[] }[] = []
      for (const site of sites) {
        const last = await store.lastRun(site)
        if (!last) continue
        const lfns = (await store.findings(site, 'missing', last.id)).filter((f) => f.acted === null).map((f) => f.lfn)
        if (lfns.length) plan.push({ site, run: last.id, lfns })
      }
      if (plan.length === 0) {
        io.out(`nothing to invalidate: no act site matching ${pattern} has missing files not yet acted on`)
        return 0
      }
      if (dryRun) {
        for (const p of plan) {
          io.out(`${p.site}: would invalidate ${plural(p.lfns.length, 'missing file')}`)
          for (const lfn of p.lfns) io.out(`  ${lfnForDisplay(lfn)}`)
        }
        io.out('dry run: nothing was written')
        return 0
      }
      if (ask) {
        for (const p of plan) io.err(`${p.site}: ${plural(p.lfns.length, 'missing file')} to invalidate`)
        const total = plan.reduce((n, p) => n + p.lfns.length, 0)
        const yes = await confirm(
          `Invalidate ${plural(total, 'file')} at ${plural(plan.length, 'site')} in the registry? [y/N] `,
        )
        if (!yes) {
          io.err('dynamo-consistency: invalidate: not confirmed; nothing was written')
          return 1
        }
      }
      const backend = openBackend()
      try {
        for (const p of plan) {
          const n = await backend.registry.invalidate(p.site, p.lfns)
          await store.markActed(p.site, p.run, 'missing', p.lfns)
          io.out(`${p.site}: ${plural(p.lfns.length, 'missing file')} invalidated (${n} new)`)
        }
      } finally {
        await backend.close()
      }
      return 0
    } finally {
      await store.close()
    }
  },
}
