// Child process for the crash test: runs one resolvePending() against the given config and
// database, so the parent can SIGKILL it while its token request is in flight.
import { readFileSync } from 'node:fs'
import { parseConfig } from '../../src/config.js'
import { createDeps } from '../../src/deps.js'
import { createLogger } from '../../src/log.js'
import { resolvePending } from '../../src/oauth/pending.js'

const [configFile] = process.argv.slice(2)
const config = parseConfig(JSON.parse(readFileSync(configFile as string, 'utf8')))
const deps = createDeps(config, { log: createLogger('silent') })
process.send?.('started')
await resolvePending(deps)
deps.db.close()
