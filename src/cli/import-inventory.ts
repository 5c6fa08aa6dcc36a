/** `dynamo-consistency import-inventory --site SITE FILE`: fill the embedded inventory from a listing file. */
import { importListing, openEmbeddedDatabase } from '../backends/embedded'
import { config } from '../config'
import { UsageError } from '../errors'
import { plural } from '../words'
import { parseArgs } from './args'
import type { Command } from './command'

const HELP = `Usage: dynamo-consistency import-inventory --site SITE FILE [options]

Replace SITE's files in the embedded SQLite inventory (InventoryDatabase,
default VarLocation/inventory.db) with the files of a listing file (one file
a line: LFN, LFN|size, LFN|size|mtime or LFN size [mtime]), in one
transaction. The site is created when new.

Options:
  --group NAME     owning group of the imported replicas (default: local)
  --incomplete     mark the replicas incomplete (their files are never missing)
  --tape           the site is a tape (mss) site
  --append         keep the site's other files
  --config FILE    the configuration file
  -h, --help       show this help

Examples:
  dynamo-consistency import-inventory --site T2_US_MIT mit-inventory.txt
  dynamo-consistency import-inventory --site T1_US_FNAL_MSS --tape --append tape-files.txt`

export const importInventoryCommand: Command = {
  name: 'import-inventory',
  summary: 'fill the embedded inventory of a site from a listing file',
  help: HELP,
  async run(args, io) {
    const { positional, options } = parseArgs(
      args,
      {
        site: { value: true },
        group: { value: true },
        incomplete: { value: false },
        tape: { value: false },
        append: { value: false },
        config: { value: true },
      },
      'import-inventory',
    )
    if (typeof options.site !== 'string' || options.site === '')
      throw new UsageError('import-inventory needs --site SITE')
    if (positional.length !== 1) throw new UsageError('import-inventory needs one listing FILE')
    if (typeof options.config === 'string') config.setLocation(options.config)
    const db = openEmbeddedDatabase()
    try {
      const n = await importListing(db, options.site, positional[0] as string, {
        replace: !options.append,
        group: typeof options.group === 'string' ? options.group : 'local',
        complete: !options.incomplete,
        storageType: options.tape ? 'mss' : 'disk',
      })
      io.out(`${options.site}: ${plural(n, 'file')} imported into ${db.where}`)
      return 0
    } finally {
      await db.close()
    }
  },
}
