// Child process for the refresh race and crash tests: `count` concurrent calls of the package's
// exported getAccessToken() (config from LATCHKEY_CONFIG, as an agent would use it), started
// when the parent says go; prints {tokens, errors} as JSON, the only thing on its stdout.
import { getAccessToken } from '../../src/index.js'

const [configFile, provider, count] = process.argv.slice(2)
process.env.LATCHKEY_CONFIG = configFile
process.send?.('ready')
process.once('message', async () => {
  const results = await Promise.allSettled(Array.from({ length: Number(count) }, () => getAccessToken(provider as string)))
  const tokens = results.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []))
  const errors = results.flatMap((r) => (r.status === 'rejected' ? [String((r.reason as Error).message)] : []))
  process.stdout.write(JSON.stringify({ tokens, errors }))
  process.disconnect?.()
})
