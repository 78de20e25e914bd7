import { pullGlucose } from '../src/integrations/dexcom/sync.js'
import { simSetup } from '../test/integrations/dexcom/harness.js'
import { Cleanup } from './support.js'
const cleanup = new Cleanup()
for (let i = 0; i < 4; i++) {
  const { deps } = await simSetup(cleanup)
  const t0 = performance.now()
  await pullGlucose(deps)
  console.log((performance.now() - t0).toFixed(1))
}
await cleanup.run()
