/**
 * What `--version` prints: the package's version, the native module's, and
 * whether the native XRootD lister can be used here (and from where), or why
 * not. Each line stands alone: a native module that does not load is said,
 * not thrown.
 */
export function versionText(): string {
  const lines = [`dynamo-consistency ${require('../../package.json').version}`]
  let native: typeof import('../native')
  try {
    native = require('../native')
  } catch (err) {
    lines.push(`native module: not loaded: ${err instanceof Error ? err.message : String(err)}`)
    return lines.join('\n')
  }
  lines.push(`native module ${native.nativeVersion()} (${native.platformName()})`)
  const xrootd = native.xrootdSupport()
  lines.push(xrootd.available ? `XRootD support: yes, ${xrootd.path}` : `XRootD support: no: ${xrootd.reason}`)
  return lines.join('\n')
}
