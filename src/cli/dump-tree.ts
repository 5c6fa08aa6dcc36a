/** `dynamo-consistency dump-tree --site S [--remote] [NAME]`: save a site's inventory or storage listing. */
import { openBackend } from '../backends'
import { config } from '../config'
import type { DirectoryInfo } from '../datatypes'
import { UsageError } from '../errors'
import { listSite, siteRoots } from '../site-listing'
import { plural } from '../words'
import { parseArgs } from './args'
import type { Command } from './command'

const HELP = `Usage: dynamo-consistency dump-tree --site SITE [--remote] [NAME] [--config FILE]

Save the site's inventory listing (or, with --remote, its storage listing)
as a tree file NAME (default SITE_inventory.tree or SITE_remote.tree), which
\`compare\` reads.

Options:
  --site SITE      the site (required)
  --remote         its storage listing instead of its inventory
  --config FILE    the configuration file (default: $DYNAMO_CONSISTENCY_CONFIG)
  --date-string YYYYMMDD
                   no effect (the original's option, accepted): a storage
                   dump is named in AccessMethod (dump:FILE)
  -h, --help       show this help

Examples:
  dynamo-consistency dump-tree --site T2_US_MIT
  dynamo-consistency dump-tree --site T2_US_MIT --remote mit-storage.tree`

export const dumpTreeCommand: Command = {
  name: 'dump-tree',
  summary: "save a site's inventory or storage listing as a tree file",
  help: HELP,
  async run(args, io) {
    const { positional, options } = parseArgs(
      args,
      { site: { value: true }, remote: { value: false }, config: { value: true }, 'date-string': { value: true } },
      'dump-tree',
    )
    if (typeof options.site !== 'string' || options.site === '') throw new UsageError('dump-tree needs --site SITE')
    if (positional.length > 1) throw new UsageError(`dump-tree: unexpected argument ${positional[1]}`)
    if (typeof options.config === 'string') config.setLocation(options.config)
    const site = options.site
    const file = positional[0] ?? `${site}_${options.remote ? 'remote' : 'inventory'}.tree`
    let tree: DirectoryInfo
    if (options.remote) {
      tree = (await listSite(site, { roots: siteRoots() })).tree
    } else {
      const backend = openBackend()
      try {
        tree = await backend.inventory.listFiles(site)
      } finally {
        await backend.close()
      }
    }
    tree.save(file)
    io.out(`${site}: ${plural(tree.fileCount, 'file')} in ${plural(tree.nodeCount, 'directory')} -> ${file}`)
    return 0
  },
}
