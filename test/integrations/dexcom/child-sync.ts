// A child process for the kill-mid-sync test: one pullGlucose run with a fixed clock.
// `node --import tsx test/integrations/dexcom/child-sync.ts <configFile> <nowMs>`; prints "started", then the summary.
import { manualClock } from '../../../src/clock.js'
import { loadConfig } from '../../../src/config.js'
import { createDeps } from '../../../src/deps.js'
import { pullGlucose } from '../../../src/integrations/dexcom/sync.js'
import { createLogger } from '../../../src/log.js'

const [configFile, now] = process.argv.slice(2)
if (!configFile || !now) throw new Error('usage: child-sync <configFile> <nowMs>')
const config = loadConfig({ ...process.env, LATCHKEY_CONFIG: configFile })
const deps = createDeps(config, { clock: manualClock(Number(now)), log: createLogger('warn', process.stderr) })
process.stdout.write('started\n')
const summary = await pullGlucose(deps)
process.stdout.write(`${JSON.stringify(summary)}\n`)
deps.db.close()
