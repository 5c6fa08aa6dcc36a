/**
 * The `dynamo-consistency` command. This is the one place that prints an
 * error and picks the exit code: 0 success, 1 failure, 2 bad usage.
 */
import { ConsistencyError, UsageError } from '../errors'
import type { Command, Output } from './command'

/**
 * Every subcommand, loaded when it runs: `list` and `compare` do not pay
 * for loading the check, its back ends and the web page. Add new ones here.
 */
const COMMANDS: Record<string, () => Command> = {
  check: () => require('./check').checkCommand,
  compare: () => require('./compare').compareCommand,
  list: () => require('./list').listCommand,
  'set-status': () => require('./set-status').setStatusCommand,
  invalidate: () => require('./invalidate').invalidateCommand,
  'dump-tree': () => require('./dump-tree').dumpTreeCommand,
  'import-inventory': () => require('./import-inventory').importInventoryCommand,
  web: () => require('./web').webCommand,
}

function usage(): string {
  const commands = Object.values(COMMANDS).map((load) => load())
  const width = Math.max(...commands.map((c) => c.name.length))
  return [
    'Usage: dynamo-consistency <command> [options]',
    '',
    'Storage consistency checker: compares what an inventory says a site holds with what its storage holds.',
    '',
    'Commands:',
    ...commands.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    '',
    'Run `dynamo-consistency <command> --help` for the options of a command.',
  ].join('\n')
}

export async function main(argv: string[] = process.argv.slice(2), io?: Output): Promise<number> {
  const output: Output = io ?? {
    out: (t) => process.stdout.write(t.endsWith('\n') ? t : `${t}\n`),
    err: (t) => process.stderr.write(t.endsWith('\n') ? t : `${t}\n`),
    isTTY: Boolean(process.stderr.isTTY),
  }
  const [name, ...rest] = argv
  try {
    if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
      output.out(usage())
      return name === undefined ? 2 : 0
    }
    if (name === '--version') {
      output.out(require('./version').versionText())
      return 0
    }
    const command = Object.hasOwn(COMMANDS, name) ? (COMMANDS[name] as () => Command)() : undefined
    if (!command) throw new UsageError(`unknown command ${name}\n\n${usage()}`)
    if (rest.includes('--help') || rest.includes('-h')) {
      output.out(command.help)
      return 0
    }
    return await command.run(rest, output)
  } catch (err) {
    if (err instanceof UsageError) {
      output.err(`dynamo-consistency: ${err.message}`)
      return 2
    }
    if (err instanceof ConsistencyError) {
      output.err(`dynamo-consistency: ${err.message}`)
      return 1
    }
    // the system's own errors (a port in use, an unknown host, a full disk) say what is wrong in
    // their message; a stack trace is for errors of the program itself
    if (err instanceof Error && typeof (err as NodeJS.ErrnoException).syscall === 'string') {
      output.err(`dynamo-consistency: ${err.message}`)
      return 1
    }
    output.err(`dynamo-consistency: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`)
    return 1
  }
}
