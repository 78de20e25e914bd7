// Kill-loop writer for test/store/auth-json.test.ts: plain node on the compiled store
// (`npm test` builds first), so that 500 spawns stay fast. Writes the versions in turn through
// writeAuthFileAtomic forever and prints "ready" after the first write.
import { readFileSync } from 'node:fs'
import { writeAuthFileAtomic } from '../../dist/src/store/auth-json.js'

const [authFile, versionsFile] = process.argv.slice(2)
const versions = JSON.parse(readFileSync(versionsFile, 'utf8'))
for (let i = 0; ; i++) {
  await writeAuthFileAtomic(authFile, versions[i % versions.length])
  if (i === 0) process.stdout.write('ready\n')
}
