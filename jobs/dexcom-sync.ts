// Bree worker: one run of the dexcom-sync job (logic in src/integrations/dexcom/sync.ts).
import { pullGlucose } from '../src/integrations/dexcom/sync.js'
import { runJob } from '../src/jobs/worker.js'

await runJob((deps) => pullGlucose(deps))
