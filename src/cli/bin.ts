#!/usr/bin/env node
// The `latchkey` executable: a thin shell around main() so tests can call main() directly.

// `latchkey providers | head` closes the pipe early: that is not an error.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code === 'EPIPE') process.exit(0)
  throw err
})

// Scripts call `latchkey token` often: a fresh token is printed before commander, zod and the
// rest of the CLI load (token-fast.ts); everything else, refreshes and errors included, goes on.
const fast = process.argv[2] === 'token' ? await (await import('./token-fast.js')).freshTokenFast(process.argv.slice(2), process.env) : undefined
if (fast !== undefined) process.stdout.write(`${fast}\n`)
else process.exitCode = await (await import('./main.js')).main(process.argv.slice(2))
