/** `dynamo-consistency set-status SITE ready|halt|disable|act|dry`. */
import { openBackend } from '../backends'
import { config } from '../config'
import { UsageError } from '../errors'
import { openSummary } from '../summary/store'
import { parseArgs } from './args'
import type { Command } from './command'

const HELP = `Usage: dynamo-consistency set-status SITE ready|halt|disable|act|dry [options]

Set a site's run status or reporting flag in the summary store:
  ready     the site may be picked by \`check\`
  halt      a running check of the site stops within seconds; it is not picked
  disable   never picked; no run overwrites it
  act       runs on the site request deletions and transfers in the registry
  dry       runs on the site only report (the default for a new site)

A site neither the summary store nor the inventory knows is refused, so
that a mistyped name does not become a new site on the page; --create adds
it.

Options:
  --create         add SITE even when neither the summary store nor the
                   inventory knows it
  --config FILE    the configuration file (default: $DYNAMO_CONSISTENCY_CONFIG)
  -h, --help       show this help

Examples:
  dynamo-consistency set-status T2_US_MIT act
  dynamo-consistency set-status T2_US_MIT halt
  dynamo-consistency set-status T3_CH_New ready --create`

/** Whether the inventory lists the site (a site not checked yet is in the summary store once a check has run). */
async function inInventory(site: string): Promise<boolean> {
  const backend = openBackend()
  try {
    return (await backend.siteinfo.siteList()).includes(site)
  } finally {
    await backend.close()
  }
}

const WHAT = ['ready', 'halt', 'disable', 'act', 'dry'] as const

export const setStatusCommand: Command = {
  name: 'set-status',
  summary: "set a site's run status (ready, halt, disable) or reporting flag (act, dry)",
  help: HELP,
  async run(args, io) {
    const { positional, options } = parseArgs(args, { config: { value: true }, create: { value: false } }, 'set-status')
    if (positional.length !== 2) throw new UsageError('set-status needs SITE and one of ready, halt, disable, act, dry')
    const [site, what] = positional as [string, string]
    if (!(WHAT as readonly string[]).includes(what)) {
      throw new UsageError(`set-status: ${what} is not one of ${WHAT.join(', ')}`)
    }
    if (!/^[A-Za-z0-9_.-]+$/.test(site)) throw new UsageError(`set-status: ${JSON.stringify(site)} is not a site name`)
    if (typeof options.config === 'string') config.setLocation(options.config)
    const store = await openSummary()
    try {
      if (!options.create && (await store.status(site)) === null && !(await inInventory(site))) {
        throw new UsageError(
          `set-status: unknown site ${site} (neither in the summary store nor in the inventory; --create adds it)`,
        )
      }
      await store.setStatus(site, what as (typeof WHAT)[number])
      const s = await store.status(site)
      io.out(`${site}: ${s?.status} ${s?.reporting}`)
      return 0
    } finally {
      await store.close()
    }
  },
}
