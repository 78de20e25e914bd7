// A writer of auth.json in another process, for the read-cache test (test/store/auth-read-cache.test.ts).
// Spawned as `node --import tsx test/support/child-auth-steps.ts <authFile>`: for each line on stdin
// (a JSON object), one writeAuthFileAtomic of it, then "wrote <n>" on stdout; exits when stdin ends.
import { createInterface } from 'node:readline'
import { writeAuthFileAtomic, type AuthFile } from '../../src/store/auth-json.js'

const [authFile] = process.argv.slice(2)
if (!authFile) throw new Error('usage: child-auth-steps <authFile>')

let n = 0
for await (const line of createInterface({ input: process.stdin })) {
  await writeAuthFileAtomic(authFile, JSON.parse(line) as AuthFile)
  process.stdout.write(`wrote ${++n}\n`)
}
