// Bree worker: one run of the refresh-tokens job (logic in src/oauth/refresh-job.ts).
import { runJob } from '../src/jobs/worker.js'
import { refreshDueTokens } from '../src/oauth/refresh-job.js'

await runJob((deps) => refreshDueTokens(deps))
