/** What `--version` prints: the package's version, then one line per component that has one. */

/** The lines of `dynamo-consistency --version`. Add a component's line here. */
export function versionLines(): string[] {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const lines = [`dynamo-consistency ${require('../../package.json').version}`]
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    lines.push(`native module ${require('../native').nativeVersion()}`)
  } catch (err) {
    lines.push(`native module: not loaded (${(err as Error).message.split('\n')[0]})`)
  }
  return lines
}
