#!/usr/bin/env node
'use strict'
// standard output that fails (a full disk, a closed pipe) ends the command with one line, never a stack
process.stdout.on('error', (err) => {
  if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0)
  process.stderr.write(`dynamo-consistency: standard output: ${err.message}\n`)
  process.exit(1)
})
require('../dist/cli/main.js')
  .main()
  .then((code) => {
    process.exitCode = code
  })
