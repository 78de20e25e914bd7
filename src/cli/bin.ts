#!/usr/bin/env node
// The `latchkey` executable: a thin shell around main() so tests can call main() directly.
import { main } from './main.js'

// `latchkey providers | head` closes the pipe early: that is not an error.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code === 'EPIPE') process.exit(0)
  throw err
})
process.exitCode = await main(process.argv.slice(2))
