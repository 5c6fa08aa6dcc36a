/** `dynamo-consistency web serve|install`: the summary page. */
import { config } from '../config'
import { UsageError } from '../errors'
import { openSummary } from '../summary/store'
import { DAY } from '../time'
import { installWeb } from '../web/install'
import { startWebServer } from '../web/server'
import { plural } from '../words'
import { numberOption, parseArgs } from './args'
import type { Command } from './command'

const HELP = `Usage: dynamo-consistency web serve [--port P] [--host H] [options]
       dynamo-consistency web install [--dir DIR] [options]

The summary page: every site's last run (coloured by what needs a look),
links to its lists and log, a page per site with its history as plots, and
the JSON and Prometheus metrics behind them, read from the summary store.

  serve     serve the pages over HTTP, read-only, until SIGINT or SIGTERM;
            also GET /api/sites, /api/sites/SITE/history (JSON), /metrics
  install   write the pages, JSON (api/sites.json), metrics (metrics.txt)
            and assets into WebDir, beside the lists the check writes there,
            for any web server to serve; run it after each check

Options:
  --port P         serve: the port (default 8080; 0 picks a free one)
  --host H         serve: the address to listen on (default 127.0.0.1, this
                   host only; the page is read-only but shows site names,
                   lists and logs to whoever can reach it)
  --dir DIR        install: the directory (default WebDir, where the check
                   writes the lists the pages link to)
  --refresh S      seconds between the pages' refreshes of themselves (default 60; 0: never)
  --config FILE    the configuration file (default: $DYNAMO_CONSISTENCY_CONFIG)
  -h, --help       show this help

Examples:
  dynamo-consistency web serve --port 8080
  dynamo-consistency web serve --host 0.0.0.0 --refresh 300
  dynamo-consistency web install --dir /var/www/html/consistency`

const LOOPBACK = new Set(['127.0.0.1', '::1', 'localhost'])

export const webCommand: Command = {
  name: 'web',
  summary: 'the summary page: serve it (web serve) or write it into WebDir (web install)',
  help: HELP,
  async run(args, io) {
    const { positional, options } = parseArgs(
      args,
      {
        port: { value: true },
        host: { value: true },
        dir: { value: true },
        refresh: { value: true },
        config: { value: true },
      },
      'web',
    )
    const [action, ...extra] = positional
    if (action !== 'serve' && action !== 'install') throw new UsageError('web needs serve or install (see web --help)')
    if (extra.length) throw new UsageError(`web ${action}: unexpected argument ${extra[0]}`)
    const only = (name: string, where: string) => {
      if (options[name] !== undefined) throw new UsageError(`web ${action}: --${name} is for web ${where}`)
    }
    if (typeof options.config === 'string') config.setLocation(options.config)
    const refresh = numberOption(options, 'refresh', 'web', { min: 0, max: DAY }) ?? 60

    if (action === 'install') {
      only('port', 'serve')
      only('host', 'serve')
      const dir = typeof options.dir === 'string' ? options.dir : config.resolvePath('WebDir')
      const reader = await openSummary(undefined, { readOnly: true })
      try {
        const report = await installWeb({ reader, dir, refresh })
        io.out(`${plural(report.sites, 'site')}: ${plural(report.files.length, 'file')} written to ${report.dir}`)
        return 0
      } finally {
        await reader.close()
      }
    }

    only('dir', 'install')
    const port = numberOption(options, 'port', 'web', { min: 0, max: 65_535, integer: true }) ?? 8080
    const host = typeof options.host === 'string' ? options.host : '127.0.0.1'
    const reader = await openSummary(undefined, { readOnly: true })
    let server: Awaited<ReturnType<typeof startWebServer>>
    try {
      server = await startWebServer({ reader, host, port, refresh })
    } catch (err) {
      await reader.close()
      throw err
    }
    if (!LOOPBACK.has(host)) io.err(`dynamo-consistency: serving on ${host}: reachable from other hosts (read-only)`)
    io.out(`serving the summary page on ${server.url}`)
    await new Promise<void>((resolve) => {
      const stop = () => {
        process.off('SIGINT', stop)
        process.off('SIGTERM', stop)
        resolve()
      }
      process.once('SIGINT', stop)
      process.once('SIGTERM', stop)
    })
    await server.close()
    await reader.close()
    return 0
  },
}
