// Bree worker: one run of the resolve-pending job (logic in src/oauth/pending.ts).
import { runJob } from '../src/jobs/worker.js'
import { resolvePending } from '../src/oauth/pending.js'

await runJob((deps) => resolvePending(deps))
