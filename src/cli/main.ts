/**
 * The `dynamo-consistency` command. This is the one place that prints an
 * error and picks the exit code: 0 success, 1 failure, 2 bad usage, 4
 * refused credentials (a command may return 3 itself: a check whose
 * storage could not be listed).
 */
import { AuthError, ConsistencyError, UsageError } from '../errors'
import type { Command, Output } from './command'
import { versionText } from './version'

/**
 * Every subcommand, loaded when it runs: `list` and `compare` do not pay
 * for loading the check, its back ends and the web page. Add new ones here.
 */
export const COMMANDS: Record<string, () => Command> = {
  check: () => require('./check').checkCommand,
  compare: () => require('./compare').compareCommand,
  list: () => require('./list').listCommand,
  'set-status': () => require('./set-status').setStatusCommand,
  invalidate: () => require('./invalidate').invalidateCommand,
  'dump-tree': () => require('./dump-tree').dumpTreeCommand,
  'import-inventory': () => require('./import-inventory').importInventoryCommand,
  web: () => require('./web').webCommand,
  completion: () => require('./completion').completionCommand,
}

function usage(): string {
  const commands = Object.values(COMMANDS).map((load) => load())
  const width = Math.max(...commands.map((c) => c.name.length), 'help'.length)
  return [
    'Usage: dynamo-consistency <command> [options]',
    '',
    'Storage consistency checker: compares what an inventory says a site holds with what its storage holds.',
    '',
    'Commands:',
    ...commands.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    `  ${'help'.padEnd(width)}  the help of a command: help <command>`,
    '',
    'Options of every command:',
    '  -h, --help       the help of the command',
    '  -V, --version    the versions of the program and its native module',
    '',
    'Examples:',
    '  dynamo-consistency check --site T2_US_MIT --config /etc/dynamo-consistency.yml',
    '  dynamo-consistency list root://eoscms.cern.ch//store/mc -o mc.tree',
    '  dynamo-consistency help check',
    '',
    'Run `dynamo-consistency help <command>` for the options of a command.',
  ].join('\n')
}

function findCommand(name: string): Command {
  const command = Object.hasOwn(COMMANDS, name) ? (COMMANDS[name] as () => Command)() : undefined
  if (!command) throw new UsageError(`unknown command ${name} (see dynamo-consistency --help)`)
  return command
}

/** The arguments before `--`: options after it are file names, never ours. */
const beforeDashes = (args: string[]) => (args.includes('--') ? args.slice(0, args.indexOf('--')) : args)

export async function main(argv: string[] = process.argv.slice(2), io?: Output): Promise<number> {
  const output: Output = io ?? {
    out: (t) => process.stdout.write(t.endsWith('\n') ? t : `${t}\n`),
    err: (t) => process.stderr.write(t.endsWith('\n') ? t : `${t}\n`),
    isTTY: Boolean(process.stderr.isTTY),
  }
  const [name, ...rest] = argv
  try {
    const ours = beforeDashes(argv)
    if (ours.includes('-V') || ours.includes('--version')) {
      output.out(versionText())
      return 0
    }
    if (name === undefined) {
      output.err(usage())
      return 2
    }
    if (name === '--help' || name === '-h') {
      output.out(usage())
      return 0
    }
    if (name === 'help') {
      if (rest.length > 1) throw new UsageError(`help takes one command, not ${rest.length}`)
      const topic = rest[0]
      output.out(topic === undefined || topic === '--help' || topic === '-h' ? usage() : findCommand(topic).help)
      return 0
    }
    const command = findCommand(name)
    const own = beforeDashes(rest)
    if (own.includes('--help') || own.includes('-h')) {
      output.out(command.help)
      return 0
    }
    return await command.run(rest, output)
  } catch (err) {
    if (err instanceof UsageError) {
      output.err(`dynamo-consistency: ${err.message}`)
      return 2
    }
    if (err instanceof AuthError) {
      output.err(`dynamo-consistency: ${err.message}`)
      return 4
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
