/** `dynamo-consistency completion bash|zsh`: a shell completion script, made from the commands' help. */
import { UsageError } from '../errors'
import { parseArgs } from './args'
import type { Command } from './command'

const HELP = `Usage: dynamo-consistency completion bash|zsh

Print a script that completes the commands, their options and their fixed
values (set-status's states, web's actions) in bash or zsh.

Options:
  -h, --help       show this help

Examples:
  # bash: for this shell, or for every new one
  source <(dynamo-consistency completion bash)
  dynamo-consistency completion bash > /etc/bash_completion.d/dynamo-consistency
  # zsh (after compinit): for this shell, or into a directory of $fpath
  source <(dynamo-consistency completion zsh)
  dynamo-consistency completion zsh > ~/.zsh/completions/_dynamo-consistency`

/** The values a command's first positional arguments take, by command. */
const WORDS: Record<string, string[]> = {
  'set-status': ['ready', 'halt', 'disable', 'act', 'dry'],
  web: ['serve', 'install'],
  completion: ['bash', 'zsh'],
}

interface CommandWords {
  name: string
  summary: string
  options: string[]
  words: string[]
}

/** The options a command's help documents: every --long and -x it names. */
export function helpOptions(help: string): string[] {
  const long = help.match(/(?<![\w-])--[a-z][a-z0-9-]*/g) ?? []
  const short = help.match(/(?<![\w$-])-[a-zA-Z](?=[ ,])/g) ?? []
  const global = new Set(['--help', '-h', '--version', '-V'])
  return [...new Set([...long, ...short])].filter((o) => !global.has(o)).sort()
}

function commandWords(): CommandWords[] {
  // loaded here: main.ts imports this module's siblings lazily
  const { COMMANDS } = require('./main') as typeof import('./main')
  const commands = Object.values(COMMANDS).map((load) => load())
  return [
    ...commands.map((c) => ({
      name: c.name,
      summary: c.summary,
      options: helpOptions(c.help),
      words: WORDS[c.name] ?? [],
    })),
    { name: 'help', summary: 'the help of a command', options: [], words: commands.map((c) => c.name) },
  ]
}

const shellWord = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`

export function bashScript(): string {
  const commands = commandWords()
  const cases = commands
    .map((c) => `    ${c.name}) opts=${shellWord(c.options.join(' '))}; words=${shellWord(c.words.join(' '))} ;;`)
    .join('\n')
  return `# bash completion for dynamo-consistency
_dynamo_consistency() {
  local cur=\${COMP_WORDS[COMP_CWORD]}
  local opts='' words=''
  if [ "$COMP_CWORD" -eq 1 ]; then
    COMPREPLY=($(compgen -W ${shellWord(`${commands.map((c) => c.name).join(' ')} --help --version`)} -- "$cur"))
    return
  fi
  case "\${COMP_WORDS[1]}" in
${cases}
  esac
  if [[ $cur == -* ]]; then
    COMPREPLY=($(compgen -W "$opts --help -h --version -V" -- "$cur"))
  elif [ -n "$words" ]; then
    COMPREPLY=($(compgen -W "$words" -- "$cur"))
  fi
}
complete -o default -o bashdefault -F _dynamo_consistency dynamo-consistency
`
}

export function zshScript(): string {
  const commands = commandWords()
  const described = commands.map((c) => `    ${shellWord(`${c.name}:${c.summary.replace(/:/g, '\\:')}`)}`).join('\n')
  const cases = commands
    .map(
      (c) =>
        `    ${c.name}) opts=(${c.options.map(shellWord).join(' ')}); values=(${c.words.map(shellWord).join(' ')}) ;;`,
    )
    .join('\n')
  return `#compdef dynamo-consistency
# zsh completion for dynamo-consistency
_dynamo_consistency() {
  local -a commands opts values
  commands=(
${described}
  )
  if (( CURRENT == 2 )); then
    _describe 'command' commands
    return
  fi
  case "\${words[2]}" in
${cases}
  esac
  if [[ $PREFIX == -* ]]; then
    compadd -- $opts --help -h --version -V
  elif (( \${#values} )); then
    compadd -- $values
  else
    _files
  fi
}
if [[ "\${funcstack[1]}" == "_dynamo_consistency" ]]; then
  _dynamo_consistency "$@"
else
  compdef _dynamo_consistency dynamo-consistency
fi
`
}

export const completionCommand: Command = {
  name: 'completion',
  summary: 'print a shell completion script: completion bash|zsh',
  help: HELP,
  async run(args, io) {
    const { positional } = parseArgs(args, {}, 'completion')
    if (positional.length !== 1) throw new UsageError('completion needs one shell: bash or zsh')
    const shell = positional[0]
    if (shell === 'bash') io.out(bashScript())
    else if (shell === 'zsh') io.out(zshScript())
    else throw new UsageError(`completion: ${JSON.stringify(shell)} is not bash or zsh`)
    return 0
  },
}
