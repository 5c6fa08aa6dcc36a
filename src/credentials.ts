/**
 * A site's credentials: what the XRootD client (and gfal2) authenticate
 * with. The client libraries read them from environment variables:
 *
 * | key | variable | what |
 * |---|---|---|
 * | `proxy` | `X509_USER_PROXY` | an X.509 proxy (GSI); default `/tmp/x509up_u<uid>` |
 * | `certDir` | `X509_CERT_DIR` | the trusted CAs, hashed layout; default `/etc/grid-security/certificates` |
 * | `keytab` | `XrdSecSSSKT` | a shared-secret (sss) keytab |
 * | `token` | `BEARER_TOKEN_FILE` | a file holding a bearer token (ztn) |
 * | `protocols` | `XrdSecPROTOCOL` | the protocols the client may use, in order (`gsi,sss`) |
 *
 * The `xrdfs` and `gfal-ls` processes get a site's variables in their own
 * environment. The native lister's client library lives in this process
 * and reads this process's environment when it first authenticates, once:
 * a site's variables are set in it before that site's first native
 * listing, and a later native listing that needs other credentials in the
 * same process is refused (`E_CREDENTIALS`).
 */
import { X509Certificate } from 'node:crypto'
import * as fs from 'node:fs'
import { ConsistencyError } from './errors'
import { now } from './time'

export interface Credentials {
  proxy?: string
  certDir?: string
  keytab?: string
  token?: string
  protocols?: string
}

/** Each key of a site's `Credentials` and the variable it sets. */
export const CREDENTIAL_VARIABLES: Readonly<Record<keyof Credentials, string>> = {
  proxy: 'X509_USER_PROXY',
  certDir: 'X509_CERT_DIR',
  keytab: 'XrdSecSSSKT',
  token: 'BEARER_TOKEN_FILE',
  protocols: 'XrdSecPROTOCOL',
}

/** The variables a site's credentials set. */
export function credentialEnvironment(credentials: Credentials | undefined): Record<string, string> {
  const env: Record<string, string> = {}
  if (!credentials) return env
  for (const [key, variable] of Object.entries(CREDENTIAL_VARIABLES)) {
    const value = credentials[key as keyof Credentials]
    if (value !== undefined) env[variable] = value
  }
  return env
}

/** When the first certificate of a proxy file expires (unix seconds), or null when it cannot be read. */
export function proxyExpiry(file: string): number | null {
  try {
    const text = fs.readFileSync(file, 'utf8')
    const pem = /-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/.exec(text)
    if (!pem) return null
    return Math.floor(new Date(new X509Certificate(pem[0]).validTo).getTime() / 1000)
  } catch {
    return null
  }
}

const iso = (seconds: number) => new Date(seconds * 1000).toISOString().replace(/\.\d+Z$/, 'Z')

/**
 * The credentials in force in `env`, in words, for the message of a
 * refused authentication: `proxy /tmp/x509up_u0 (expired 2020-01-02T00:00:00Z)`,
 * `keytab /etc/xrootd/sss.keytab`.
 */
export function describeCredentials(env: Record<string, string | undefined>, at = now()): string {
  const parts: string[] = []
  // the default proxy is named when it is all there is
  const other = env.XrdSecSSSKT || env.BEARER_TOKEN_FILE || env.BEARER_TOKEN
  const proxy = env.X509_USER_PROXY || (other ? '' : `/tmp/x509up_u${process.getuid?.() ?? 0}`)
  if (!proxy) {
    // no proxy named
  } else if (!fs.existsSync(proxy)) parts.push(`proxy ${proxy} (absent)`)
  else {
    const expiry = proxyExpiry(proxy)
    if (expiry === null) parts.push(`proxy ${proxy} (not a certificate)`)
    else if (expiry <= at) parts.push(`proxy ${proxy} (expired ${iso(expiry)})`)
    else parts.push(`proxy ${proxy} (valid until ${iso(expiry)})`)
  }
  if (env.XrdSecSSSKT) parts.push(`keytab ${env.XrdSecSSSKT}${fs.existsSync(env.XrdSecSSSKT) ? '' : ' (absent)'}`)
  if (env.BEARER_TOKEN_FILE)
    parts.push(`token ${env.BEARER_TOKEN_FILE}${fs.existsSync(env.BEARER_TOKEN_FILE) ? '' : ' (absent)'}`)
  else if (env.BEARER_TOKEN) parts.push('token in BEARER_TOKEN')
  if (env.XrdSecPROTOCOL) parts.push(`protocols ${env.XrdSecPROTOCOL}`)
  return parts.join(', ')
}

/**
 * A warning when the proxy in `env` expires before a listing of
 * `seconds` starting `at` would end (or has expired already), or null
 * (no proxy file, or one that outlives the listing).
 */
export function proxyWarning(
  env: Record<string, string | undefined>,
  seconds: number | null,
  at = now(),
): string | null {
  const proxy = env.X509_USER_PROXY || `/tmp/x509up_u${process.getuid?.() ?? 0}`
  const expiry = fs.existsSync(proxy) ? proxyExpiry(proxy) : null
  if (expiry === null) return null
  if (expiry <= at) return `proxy ${proxy} expired at ${iso(expiry)}`
  if (seconds === null || expiry >= at + seconds) return null
  return `proxy ${proxy} expires at ${iso(expiry)}, in ${Math.round(expiry - at)} s: before a run as long as the site's last one (${Math.round(seconds)} s) would end`
}

/** The credential variables set in this process for the native lister, and for which site. */
let nativeSet: { env: Record<string, string>; owner: string } | null = null

/**
 * Set `env` in this process for a native listing of `owner` (a site or a
 * target). The client library reads these variables once, when it first
 * authenticates: after a listing with some credentials, one that needs
 * others in the same process is refused.
 */
export function useNativeCredentials(owner: string, env: Record<string, string>): void {
  if (Object.keys(env).length === 0) return
  if (nativeSet) {
    const same =
      Object.keys(env).length === Object.keys(nativeSet.env).length &&
      Object.entries(env).every(([k, v]) => nativeSet?.env[k] === v)
    if (same) return
    const wanted = Object.entries(env)
      .map(([k, v]) => `${k}=${v}`)
      .join(', ')
    throw new ConsistencyError(
      'E_CREDENTIALS',
      `${owner}: its credentials (${wanted}) differ from those ${nativeSet.owner} was listed with in this process, and the XRootD client library reads them once: list it in a process of its own, or with AccessMethod directx (xrdfs)`,
    )
  }
  for (const [k, v] of Object.entries(env)) process.env[k] = v
  nativeSet = { env: { ...env }, owner }
}
