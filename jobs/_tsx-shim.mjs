// Dev and test only: lets a Bree worker run a .ts job through tsx (stack-notes.md §4).
// Production runs the compiled dist/jobs/*.js directly.
import { register } from 'tsx/esm/api'
import { workerData } from 'node:worker_threads'

register()
await import(workerData.tsEntry)
