// Bree worker: one run of the daily certificate job (logic in src/tls/check.ts).
import { runJob } from '../src/jobs/worker.js'
import { checkCertificate } from '../src/tls/check.js'

await runJob((deps) => checkCertificate(deps))
