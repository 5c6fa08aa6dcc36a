// Check benchmarks.
//
// 1. Inventory listing: one site with 1M files (10M with --big) in Dynamo's
//    schema on a throwaway MariaDB (or MYSQL_URL), listed into the native
//    tree against `mysql --batch --quick -e '<same query>' > file`.
// 2. A whole `check` of a 1M-file site (10M with --big, in directories of
//    200 files and of one file) on the embedded default (SQLite inventory
//    and summary store; the storage as a dump file): wall time and peak
//    memory.
//
// Standalone: node bench/check.mjs [--quick] [--big] [--only inventory,check]
import { execFileSync, spawn } from 'node:child_process'
import * as fs from 'node:fs'
import * as net from 'node:net'
import * as os from 'node:os'
import * as path from 'node:path'
import { fileURLToPath } from 'node:url'
import { CLI, fmt, measure, q, ROOT, table } from './lib.mjs'

const SITE = 'T2_US_BENCH'
const SCHEMA = path.join(ROOT, '__test__', 'fixtures', 'dynamo', 'schema.sql')
/** When the inventory's rows were last updated (Dynamo's columns want a date). */
const UPDATED = '2018-10-01 12:00:00'

async function freePort() {
  return new Promise((resolve) => {
    const s = net.createServer()
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address()
      s.close(() => resolve(port))
    })
  })
}

/** A throwaway MariaDB (or the server of MYSQL_URL). */
async function startServer() {
  if (process.env.MYSQL_URL) {
    const u = new URL(process.env.MYSQL_URL)
    const args = [`--host=${u.hostname}`, `--port=${u.port || 3306}`, `--user=${u.username || 'root'}`]
    if (u.password) args.push(`--password=${decodeURIComponent(u.password)}`)
    // databases of its own there: a real `dynamo` on that server is never touched
    return { url: process.env.MYSQL_URL.replace(/\/+$/, ''), args, db: (n) => `dc_bench_${n}`, stop: async () => {} }
  }
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dc-bench-mariadb-'))
  const asRoot = process.getuid?.() === 0 ? ['--user=root'] : []
  execFileSync(
    'mariadb-install-db',
    ['--no-defaults', `--datadir=${dir}/data`, '--auth-root-authentication-method=normal', '--skip-test-db', ...asRoot],
    { stdio: 'ignore' },
  )
  const port = await freePort()
  const log = path.join(dir, 'server.log')
  const child = spawn(
    'mariadbd',
    [
      '--no-defaults',
      `--datadir=${dir}/data`,
      `--socket=${dir}/mysqld.sock`,
      `--port=${port}`,
      '--bind-address=127.0.0.1',
      '--skip-grant-tables',
      '--skip-log-bin',
      '--innodb-buffer-pool-size=2G',
      '--innodb-flush-log-at-trx-commit=0',
      ...asRoot,
    ],
    { stdio: ['ignore', fs.openSync(log, 'a'), fs.openSync(log, 'a')] },
  )
  for (let i = 0; i < 600 && !fs.readFileSync(log, 'utf8').includes('ready for connections'); i++) {
    await new Promise((r) => setTimeout(r, 100))
  }
  return {
    url: `mysql://root@127.0.0.1:${port}`,
    args: ['--protocol=tcp', '--host=127.0.0.1', `--port=${port}`, '--user=root'],
    db: (n) => n,
    stop: async () => {
      child.kill('SIGTERM')
      await new Promise((r) => child.once('exit', r))
      fs.rmSync(dir, { recursive: true, force: true })
    },
  }
}

function mysql(server, sql, db) {
  return execFileSync('mysql', [...server.args, '--batch', ...(db ? [db] : [])], {
    input: sql,
    encoding: 'utf8',
    maxBuffer: 1 << 30,
  })
}

/** Dynamo's schema with one site of `files` files: 100 files a block, 100 blocks a dataset. */
function loadSite(server, files) {
  const blocks = Math.ceil(files / 100)
  const datasets = Math.ceil(blocks / 100)
  mysql(
    server,
    `DROP DATABASE IF EXISTS \`${server.db('dynamo')}\`; DROP DATABASE IF EXISTS \`${server.db('dynamoregister')}\`;
     ${fs
       .readFileSync(SCHEMA, 'utf8')
       .replace(
         /\b(CREATE DATABASE IF NOT EXISTS|USE) (dynamo|dynamoregister);/g,
         (_, v, n) => `${v} \`${server.db(n)}\`;`,
       )}
     USE \`${server.db('dynamo')}\`;
     INSERT INTO sites (name, storage_type) VALUES ('${SITE}', 'disk'), ('T1_US_FNAL_Disk', 'disk');
     INSERT INTO \`groups\` (id, name) VALUES (1, 'DataOps');
     INSERT INTO datasets (id, name, status, data_type, last_update, is_open)
       SELECT seq, CONCAT('/Primary', seq, '/RunIISummer20UL18-106X-v', seq MOD 3, '/AODSIM'), 'VALID', 'PRODUCTION', '${UPDATED}', 0
       FROM seq_1_to_${datasets};
     INSERT INTO blocks (id, dataset_id, name, num_files, is_open, last_update)
       SELECT seq, 1 + (seq - 1) DIV 100, UUID(), 100, 0, '${UPDATED}' FROM seq_1_to_${blocks};
     INSERT INTO files (block_id, size, name)
       SELECT 1 + (seq - 1) DIV 100, 1000000 + seq,
         CONCAT('/store/mc/RunIISummer20UL18/Primary', 1 + (seq - 1) DIV 10000, '/AODSIM/106X-v', (1 + (seq - 1) DIV 10000) MOD 3,
                '/', LPAD((seq - 1) DIV 1000, 5, '0'), '/', LPAD(HEX(seq), 8, '0'), '-', seq MOD 7, '.root')
       FROM seq_1_to_${files};
     INSERT INTO block_replicas (block_id, site_id, group_id, last_update, is_complete)
       SELECT seq, 1, IF(seq MOD 50 = 0, 0, 1), '${UPDATED}', IF(seq MOD 40 = 0, 0, 1) FROM seq_1_to_${blocks};
     ANALYZE TABLE sites, files, block_replicas;`,
  )
}

export async function inventoryBench({ quick = false, big = false } = {}) {
  const files = quick ? 100_000 : big ? 10_000_000 : 1_000_000
  const server = await startServer()
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'dc-bench-inventory-'))
  try {
    loadSite(server, files)
    const now = Math.floor(Date.now() / 1000)
    const { SITE_FILES_QUERY } = await import(path.join(ROOT, 'dist', 'backends', 'dynamo.js'))
    const query = SITE_FILES_QUERY.replace('?', String(now)).replace('?', `'${SITE}'`).replace(/\n/g, ' ')
    const out = path.join(tmp, 'rows.tsv')
    const script = path.join(tmp, 'list.cjs')
    fs.writeFileSync(
      script,
      `const { DynamoBackend } = require(${JSON.stringify(path.join(ROOT, 'dist', 'backends'))})
       const b = new DynamoBackend(${JSON.stringify(`${server.url}/${server.db('dynamo')}`)}, ${JSON.stringify(`${server.url}/${server.db('dynamoregister')}`)})
       b.inventory.listFiles(${JSON.stringify(SITE)}).then(async (t) => { console.log(t.fileCount); await b.close() })`,
    )
    // warm the buffer pool
    measure(`mysql ${server.args.map(q).join(' ')} --batch --quick -e ${q(query)} ${server.db('dynamo')} > /dev/null`)
    const rows = []
    for (let i = 0; i < 3; i++) {
      const client = measure(
        `mysql ${server.args.map(q).join(' ')} --batch --quick -e ${q(query)} ${server.db('dynamo')} > ${q(out)}`,
      )
      const ours = measure(`node ${q(script)}`)
      // rows and the header line
      const lines = Number(execFileSync('wc', ['-l', out], { encoding: 'utf8' }).trim().split(/\s+/)[0]) - 1
      if (Number(ours.stdout.trim()) !== files || lines !== files) {
        throw new Error(`listed ${ours.stdout.trim()} files, the client ${lines}, expected ${files}`)
      }
      rows.push({
        files: files.toLocaleString('en'),
        run: i + 1,
        'mysql client s': fmt(client.seconds),
        'ours (into the tree) s': fmt(ours.seconds),
        'ours / client': `${fmt(ours.seconds / client.seconds)}x`,
        'ours peak MB': fmt(ours.peakMB, 0),
      })
    }
    return { name: 'check-inventory', markdown: table(rows), rows }
  } finally {
    await server.stop()
    fs.rmSync(tmp, { recursive: true, force: true })
  }
}

/**
 * Write `n` LFNs as a listing file, `perDirectory` files a directory,
 * skipping indexes for which `skip(i)` holds.
 */
function writeListing(file, n, { skip = () => false, extra = 0, perDirectory = 1000 } = {}) {
  const fd = fs.openSync(file, 'w')
  let chunk = []
  const lfn = (i) =>
    `/store/mc/RunIISummer20UL18/Primary${Math.floor(i / 10000)}/AODSIM/106X-v1/${String(Math.floor(i / perDirectory)).padStart(5, '0')}/${i.toString(16).padStart(8, '0')}.root`
  for (let i = 0; i < n + extra; i++) {
    if (skip(i)) continue
    chunk.push(`${lfn(i)}|${1_000_000 + i}|1500000000`)
    if (chunk.length === 50_000) {
      fs.writeSync(fd, `${chunk.join('\n')}\n`)
      chunk = []
    }
  }
  if (chunk.length) fs.writeSync(fd, `${chunk.join('\n')}\n`)
  fs.closeSync(fd)
}

export async function checkBench({ quick = false, big = false } = {}) {
  const files = quick ? 100_000 : big ? 10_000_000 : 1_000_000
  // at 10M, both shapes, one run each; below, two runs of one shape
  const shapes = big ? [200, 1] : [1000]
  const rows = []
  for (const perDirectory of shapes) rows.push(...(await checkSite(files, perDirectory, big ? 1 : 2)))
  return { name: 'check', markdown: table(rows), rows }
}

/** `runs` checks of a generated site of `files` files, `perDirectory` a directory. */
async function checkSite(files, perDirectory, runs) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dc-bench-check-'))
  try {
    // the inventory: every file but the last 1000; the storage: all but every 1000th, plus 1000 more
    const inventory = path.join(dir, 'inventory.txt')
    const dump = path.join(dir, 'storage.txt')
    writeListing(inventory, files, { perDirectory })
    writeListing(dump, files, { skip: (i) => i < files && i % 1000 === 0, extra: 1000, perDirectory })
    const config = path.join(dir, 'config.json')
    fs.writeFileSync(
      config,
      JSON.stringify({
        VarLocation: path.join(dir, 'var'),
        WebDir: path.join(dir, 'www'),
        AccessMethod: { [SITE]: `dump:${dump}` },
        DirectoryList: ['mc'],
        MaxMissing: 10_000,
        MaxOrphan: 10_000,
      }),
    )
    const load = measure(`node ${q(CLI)} import-inventory --site ${SITE} ${q(inventory)} --config ${q(config)}`)
    const rows = []
    for (let i = 0; i < runs; i++) {
      const check = measure(`node ${q(CLI)} check --site ${SITE} --config ${q(config)} --quiet`)
      const missing = Number(/missing: +(\d+)/.exec(check.stdout)?.[1])
      const orphan = Number(/orphan: +(\d+)/.exec(check.stdout)?.[1])
      const wantMissing = Math.ceil(files / 1000)
      if (missing !== wantMissing || orphan !== 1000) {
        throw new Error(`check found ${missing} missing and ${orphan} orphans, expected ${wantMissing} and 1000`)
      }
      rows.push({
        files: files.toLocaleString('en'),
        'files a directory': perDirectory,
        run: i + 1,
        'import s': i === 0 ? fmt(load.seconds) : '',
        'check s': fmt(check.seconds),
        'check peak MB': fmt(check.peakMB, 0),
        missing,
        orphan,
      })
    }
    return rows
  } finally {
    fs.rmSync(dir, { recursive: true, force: true })
  }
}

/** For bench/run.mjs: both benchmarks. */
export async function run(options = {}) {
  const inv = await inventoryBench(options)
  const chk = await checkBench(options)
  return {
    name: 'check',
    markdown: `Inventory listing from MariaDB (Dynamo's schema, one site):\n\n${inv.markdown}\n\nWhole check on the embedded default (SQLite inventory, storage dump):\n\n${chk.markdown}`,
    rows: [...inv.rows, ...chk.rows],
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const args = process.argv.slice(2)
  const onlyArg = args.find((a) => a.startsWith('--only'))
  const only = onlyArg
    ? (onlyArg.includes('=') ? onlyArg.split('=')[1] : args[args.indexOf(onlyArg) + 1]).split(',')
    : null
  const options = { quick: args.includes('--quick'), big: args.includes('--big') }
  console.log(
    `# Check benchmark on ${os.hostname()}: ${os.cpus().length} cores, ${Math.round(os.totalmem() / 2 ** 30)} GiB, ${os.cpus()[0]?.model ?? ''}\n`,
  )
  if (!only || only.includes('inventory')) console.log(`${(await inventoryBench(options)).markdown}\n`)
  if (!only || only.includes('check')) console.log(`${(await checkBench(options)).markdown}\n`)
}
