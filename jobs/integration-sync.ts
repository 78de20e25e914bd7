// Bree worker: one sync run of one integration, whichever it is. The worker gets plain data,
// so it re-imports the integration's descriptor from the module URL the daemon passed.
import { workerData } from 'node:worker_threads'
import { runIntegrationSync } from '../src/integrations/run.js'
import type { Integration } from '../src/integrations/types.js'
import { runJob } from '../src/jobs/worker.js'
import { resolveTimeZone } from '../src/time-format.js'

const { integration } = (await import((workerData as { integrationUrl: string }).integrationUrl)) as { integration: Integration }
await runJob((deps) => runIntegrationSync(deps, integration, resolveTimeZone(process.env)), [integration])
