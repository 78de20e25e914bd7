// Child process for the refresh race: `count` concurrent getAccessToken() calls through one
// TokenSource, started when the parent says go; prints {tokens, errors} as JSON.
import { readFileSync } from 'node:fs'
import { parseConfig } from '../../src/config.js'
import { createDeps } from '../../src/deps.js'
import { createLogger } from '../../src/log.js'
import { TokenSource } from '../../src/oauth/refresh.js'

const [configFile, provider, count] = process.argv.slice(2)
const config = parseConfig(JSON.parse(readFileSync(configFile as string, 'utf8')))
const deps = createDeps(config, { log: createLogger('warn', process.stderr) })
const source = new TokenSource(deps)
process.send?.('ready')
process.once('message', async () => {
  const results = await Promise.allSettled(Array.from({ length: Number(count) }, () => source.getAccessToken(provider as string)))
  const tokens = results.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []))
  const errors = results.flatMap((r) => (r.status === 'rejected' ? [String((r.reason as Error).message)] : []))
  process.stdout.write(JSON.stringify({ tokens, errors }))
  deps.db.close()
  process.disconnect?.()
})
