/** What every subcommand of the CLI provides. */
export interface Output {
  out(text: string): void
  err(text: string): void
  /** Whether standard error is a terminal (progress bars) or not (plain lines). */
  isTTY: boolean
}

export interface Command {
  name: string
  /** One line for the command list. */
  summary: string
  /** The full `--help` text. */
  help: string
  /**
   * Run with the arguments after the command name. Returns the exit code:
   * 0 success (differences found are not failures), 1 failure. Bad usage
   * throws `UsageError` (exit code 2); other errors throw too and exit 1.
   */
  run(args: string[], io: Output): Promise<number>
}
