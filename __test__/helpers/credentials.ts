/**
 * Credentials made in test set-up, on this machine alone: a throwaway CA,
 * a host certificate for `localhost`, a user certificate and RFC 3820
 * proxies of it (valid, or expired in 2020) made with `openssl`; sss
 * keytabs made with `xrdsssadmin`.
 */
import { spawnSync } from 'node:child_process'
import * as fs from 'node:fs'
import * as path from 'node:path'
import { tempDir } from './cli'
import { have } from './xrootd-server'

/** Whether this machine can make the credentials and serve them. */
export const canAuthenticate = have('xrootd') && have('openssl') && have('xrdsssadmin')

function run(cmd: string, args: string[], input?: string): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8', input: input ?? '' })
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')}: ${r.stderr}`)
  return r.stdout
}

const stamp = (d: Date) => `${d.toISOString().replace(/[-:T]/g, '').slice(0, 14)}Z`

export interface Grid {
  dir: string
  /** The trusted CAs, hashed layout (X509_CERT_DIR). */
  certDir: string
  hostCert: string
  hostKey: string
  /** Proxy files: certificate, key and user certificate in one file. */
  proxy: string
  expiredProxy: string
  /** A proxy of a user of another CA, which the server does not trust. */
  untrustedProxy: string
  /** The user the proxies are of. */
  user: { cert: string; key: string }
}

function makeCa(dir: string, name: string): { cert: string; key: string } {
  const cert = path.join(dir, `${name}.pem`)
  const key = path.join(dir, `${name}.key`)
  run('openssl', [
    'req',
    '-x509',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-keyout',
    key,
    '-out',
    cert,
    '-days',
    '2',
    '-subj',
    `/DC=test/CN=${name}`,
    '-addext',
    'basicConstraints=critical,CA:true',
    '-addext',
    'keyUsage=critical,keyCertSign,cRLSign',
  ])
  return { cert, key }
}

function makeCert(
  dir: string,
  name: string,
  ca: { cert: string; key: string },
  ext: string,
): { cert: string; key: string } {
  const cert = path.join(dir, `${name}.pem`)
  const key = path.join(dir, `${name}.key`)
  const csr = path.join(dir, `${name}.csr`)
  const extFile = path.join(dir, `${name}.ext`)
  fs.writeFileSync(extFile, ext)
  run('openssl', ['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', csr, '-subj', `/DC=test/CN=${name}`])
  run('openssl', [
    'x509',
    '-req',
    '-in',
    csr,
    '-CA',
    ca.cert,
    '-CAkey',
    ca.key,
    '-set_serial',
    String(Date.now()),
    '-out',
    cert,
    '-days',
    '2',
    '-extfile',
    extFile,
  ])
  fs.chmodSync(key, 0o600)
  return { cert, key }
}

/** An RFC 3820 proxy of `user` valid from `from` to `to`, signed with `openssl ca` (which takes any dates). */
function makeProxy(dir: string, name: string, user: { cert: string; key: string }, from: Date, to: Date): string {
  const ca = path.join(dir, `${name}-ca`)
  fs.mkdirSync(ca)
  fs.writeFileSync(path.join(ca, 'index.txt'), '')
  fs.writeFileSync(path.join(ca, 'serial'), '1000\n')
  const cnf = path.join(ca, 'ca.cnf')
  fs.writeFileSync(
    cnf,
    [
      '[ca]',
      'default_ca = proxy',
      '[proxy]',
      `database = ${ca}/index.txt`,
      `new_certs_dir = ${ca}`,
      `serial = ${ca}/serial`,
      'default_md = sha256',
      'policy = any',
      'unique_subject = no',
      '[any]',
      '[proxy_ext]',
      'keyUsage = critical,digitalSignature,keyEncipherment',
      'proxyCertInfo = critical,language:id-ppl-inheritAll',
      '',
    ].join('\n'),
  )
  const subject = run('openssl', ['x509', '-in', user.cert, '-noout', '-subject', '-nameopt', 'compat'])
    .replace(/^subject=/, '')
    .trim()
  const key = path.join(ca, 'proxy.key')
  const csr = path.join(ca, 'proxy.csr')
  const cert = path.join(ca, 'proxy.pem')
  run('openssl', [
    'req',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-keyout',
    key,
    '-out',
    csr,
    '-subj',
    `${subject}/CN=${Date.now() % 1e9}`,
  ])
  run('openssl', [
    'ca',
    '-batch',
    '-config',
    cnf,
    '-cert',
    user.cert,
    '-keyfile',
    user.key,
    '-in',
    csr,
    '-out',
    cert,
    '-startdate',
    stamp(from),
    '-enddate',
    stamp(to),
    '-extensions',
    'proxy_ext',
    '-preserveDN',
    '-notext',
  ])
  const file = path.join(dir, `${name}.proxy`)
  fs.writeFileSync(file, [cert, key, user.cert].map((f) => fs.readFileSync(f, 'utf8')).join(''), { mode: 0o600 })
  return file
}

/** A CA, a host certificate for localhost, and proxies of a user. */
export function makeGrid(): Grid {
  const dir = tempDir('grid')
  const ca = makeCa(dir, 'Test CA')
  const certDir = path.join(dir, 'certificates')
  fs.mkdirSync(certDir)
  fs.copyFileSync(ca.cert, path.join(certDir, 'ca.pem'))
  run('openssl', ['rehash', certDir])
  fs.chmodSync(dir, 0o755)
  spawnSync('chmod', ['-R', 'a+rX', certDir])
  const host = makeCert(
    dir,
    'localhost',
    ca,
    'subjectAltName=DNS:localhost\nbasicConstraints=CA:false\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth,clientAuth\n',
  )
  const userExt = 'basicConstraints=CA:false\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=clientAuth\n'
  const user = makeCert(dir, 'Test User', ca, userExt)
  const hour = 3_600_000
  const now = Date.now()
  const proxy = makeProxy(dir, 'valid', user, new Date(now - hour), new Date(now + 12 * hour))
  const expiredProxy = makeProxy(
    dir,
    'expired',
    user,
    new Date('2020-01-01T00:00:00Z'),
    new Date('2020-01-02T00:00:00Z'),
  )
  const other = makeCa(dir, 'Other CA')
  const stranger = makeCert(dir, 'Stranger', other, userExt)
  const untrustedProxy = makeProxy(dir, 'untrusted', stranger, new Date(now - hour), new Date(now + 12 * hour))
  return { dir, certDir, hostCert: host.cert, hostKey: host.key, proxy, expiredProxy, untrustedProxy, user }
}

/** Another proxy of the grid's user, valid from `from` to `to`. */
export function proxyOf(grid: Grid, name: string, from: Date, to: Date): string {
  return makeProxy(grid.dir, name, grid.user, from, to)
}

/** A new sss keytab with one key of `name`. */
export function makeKeytab(dir: string, name: string): string {
  const file = path.join(dir, `${name}.keytab`)
  // xrdsssadmin asks before it creates a keytab
  run('xrdsssadmin', ['-k', name, '-u', 'anybody', '-g', 'usrgroup', 'add', file], 'y\n')
  return file
}

/** Server lines requiring GSI with `grid`'s host certificate (its key copied where the server may read it). */
export function gsiSecurity(grid: Grid, own: (file: string) => string): string[] {
  return [
    'xrootd.seclib libXrdSec.so',
    `sec.protocol gsi -certdir:${grid.certDir} -cert:${own(grid.hostCert)} -key:${own(grid.hostKey)} -crl:0 -gmapopt:10`,
  ]
}

/** Server lines requiring sss with `keytab`. */
export function sssSecurity(keytab: string, own: (file: string) => string): string[] {
  return ['xrootd.seclib libXrdSec.so', `sec.protocol sss -s ${own(keytab)}`]
}
