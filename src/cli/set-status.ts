/** `dynamo-consistency set-status SITE ready|halt|disable|act|dry`. */
import { config } from '../config'
import { UsageError } from '../errors'
import { openSummary } from '../summary/store'
import { parseArgs } from './args'
import type { Command } from './command'

const HELP = `Usage: dynamo-consistency set-status SITE ready|halt|disable|act|dry [--config FILE]

Set a site's run status or reporting flag in the summary store:
  ready     the site may be picked by \`check\`
  halt      a running check of the site stops within seconds; it is not picked
  disable   never picked; no run overwrites it
  act       runs on the site request deletions and transfers in the registry
  dry       runs on the site only report (the default for a new site)`

const WHAT = ['ready', 'halt', 'disable', 'act', 'dry'] as const

export const setStatusCommand: Command = {
  name: 'set-status',
  summary: "set a site's run status (ready, halt, disable) or reporting flag (act, dry)",
  help: HELP,
  async run(args, io) {
    const { positional, options } = parseArgs(args, { config: { value: true } }, 'set-status')
    if (positional.length !== 2) throw new UsageError('set-status needs SITE and one of ready, halt, disable, act, dry')
    const [site, what] = positional as [string, string]
    if (!(WHAT as readonly string[]).includes(what)) {
      throw new UsageError(`set-status: ${what} is not one of ${WHAT.join(', ')}`)
    }
    if (!/^[A-Za-z0-9_.-]+$/.test(site)) throw new UsageError(`set-status: ${JSON.stringify(site)} is not a site name`)
    if (typeof options.config === 'string') config.setLocation(options.config)
    const store = await openSummary()
    try {
      await store.setStatus(site, what as (typeof WHAT)[number])
      const s = await store.status(site)
      io.out(`${site}: ${s?.status} ${s?.reporting}`)
      return 0
    } finally {
      await store.close()
    }
  },
}
