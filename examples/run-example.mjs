// The main job on the bundled example site T2_EXAMPLE, on the embedded
// default (SQLite inventory, history and summary): import its inventory
// (examples/site/inventory.txt) and check its storage (the directory
// examples/site/storage). Results go to examples/out/: the lists in www/,
// the databases and logs in var/.
//
// A checkout gives every file the time of the checkout; the example's files
// are made a year old first, as files on a real site are.
import { execFileSync } from 'node:child_process'
import * as fs from 'node:fs'
import * as path from 'node:path'
import { fileURLToPath } from 'node:url'

const here = path.dirname(fileURLToPath(import.meta.url))
const storage = path.join(here, 'site', 'storage')
const out = path.join(here, 'out')
const yearAgo = new Date(Date.now() - 365 * 86_400_000)
const age = (dir) => {
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name)
    if (e.isDirectory()) age(p)
    fs.utimesSync(p, yearAgo, yearAgo)
  }
}
age(storage)
fs.mkdirSync(out, { recursive: true })
const config = path.join(out, 'config.json')
fs.writeFileSync(
  config,
  JSON.stringify(
    {
      DirectoryList: ['mc', 'data'],
      IgnoreAge: 1,
      VarLocation: path.join(out, 'var'),
      WebDir: path.join(out, 'www'),
      AccessMethod: { T2_EXAMPLE: `local:${storage}` },
    },
    null,
    2,
  ),
)
const cli = path.join(here, '..', 'bin', 'dynamo-consistency.js')
const run = (...args) => execFileSync(process.execPath, [cli, ...args, '--config', config], { stdio: 'inherit' })
run('import-inventory', '--site', 'T2_EXAMPLE', path.join(here, 'site', 'inventory.txt'))
run('check', '--site', 'T2_EXAMPLE')
console.log(`\nlists in ${path.join(out, 'www')}; the summary page: node bin/dynamo-consistency.js web serve --config ${config}`)
