/** `dynamo-consistency invalidate [--site PATTERN]`: declare recorded missing files lost. */
import { matchSites, openBackend } from '../backends'
import { config } from '../config'
import { UsageError } from '../errors'
import { openSummary } from '../summary/store'
import { parseArgs } from './args'
import type { Command } from './command'

const HELP = `Usage: dynamo-consistency invalidate [--site PATTERN] [--config FILE]

For every site marked \`act\` (and matching PATTERN, a regular expression
matching whole names), declare the missing files of its last check lost in
the inventory (Dynamo's local_invalidations) and mark them acted on.
Dry sites are skipped.`

export const invalidateCommand: Command = {
  name: 'invalidate',
  summary: 'declare the recorded missing files of act sites lost in the inventory',
  help: HELP,
  async run(args, io) {
    const { positional, options } = parseArgs(args, { site: { value: true }, config: { value: true } }, 'invalidate')
    if (positional.length) throw new UsageError(`invalidate: unexpected argument ${positional[0]}`)
    if (typeof options.config === 'string') config.setLocation(options.config)
    const pattern = typeof options.site === 'string' ? options.site : '.*'
    const store = await openSummary()
    const backend = openBackend()
    try {
      const sites = matchSites(
        (await store.sites()).filter((s) => s.reporting === 'act').map((s) => s.site),
        pattern,
      )
      for (const site of sites) {
        const last = await store.lastRun(site)
        if (!last) continue
        const lfns = (await store.findings(site, 'missing', last.id)).filter((f) => f.acted === null).map((f) => f.lfn)
        if (lfns.length === 0) continue
        const n = await backend.registry.invalidate(site, lfns)
        await store.markActed(site, last.id, 'missing', lfns)
        io.out(`${site}: ${lfns.length} missing files invalidated (${n} new)`)
      }
      if (sites.length === 0) io.out(`no act site matches ${pattern}`)
      return 0
    } finally {
      await backend.close()
      await store.close()
    }
  },
}
