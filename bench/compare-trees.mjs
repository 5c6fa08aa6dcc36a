// The comparison of two listing files through their trees, as TypeScript
// code calling `DirectoryInfo.fromListing` and `compare` does: one process,
// timed by the compare benchmark beside the command line's comparison.
//   node bench/compare-trees.mjs INVENTORY REMOTE  (prints the counts as JSON)
import { createRequire } from 'node:module'
import * as path from 'node:path'
import { ROOT } from './lib.mjs'

const require = createRequire(import.meta.url)
const { DirectoryInfo, compare } = require(path.join(ROOT, 'dist', 'datatypes.js'))
const [inventoryFile, remoteFile] = process.argv.slice(2)
const [inventory, remote] = await Promise.all([
  DirectoryInfo.fromListing(inventoryFile),
  DirectoryInfo.fromListing(remoteFile),
])
const found = await compare(inventory, remote, null, { ignoreAge: 0 })
console.log(JSON.stringify({ missing: found.missing.length, orphan: found.orphan.length }))
