// Fault injection (dexcom-api.md §4, §7): 5xx, 429 with Retry-After, dropped connections, slow
// replies, and refresh failures in a nightly window.
import type { ServerResponse } from 'node:http'
import { parseHhMm } from './time.js'
import { sendJson } from './reply.js'
import type { DexcomFault, DexcomFaultTarget, DexcomRefreshOutage, DexcomSimulatorFaults } from './types.js'

/** Holds the installed faults; the object is shared with the simulator handle so tests can edit it live. */
export class FaultBox {
  readonly faults: DexcomSimulatorFaults

  constructor(faults: DexcomSimulatorFaults) {
    if (faults.refreshOutage) checkOutage(faults.refreshOutage)
    this.faults = faults
  }

  get refreshOutage(): DexcomRefreshOutage | undefined {
    return this.faults.refreshOutage
  }

  add(fault: DexcomFault): void {
    if (!this.faults.rules) this.faults.rules = []
    this.faults.rules.push({ ...fault })
  }

  clear(): void {
    this.faults.rules = []
    delete this.faults.refreshOutage
  }

  /** The first rule matching any of `targets`, counted against its `times`. */
  take(targets: readonly DexcomFaultTarget[]): DexcomFault | undefined {
    const rules = this.faults.rules ?? []
    const index = rules.findIndex((r) => targets.includes(r.match) && (r.times === undefined || r.times > 0))
    const rule = rules[index]
    if (!rule) return undefined
    if (rule.times !== undefined) {
      rule.times--
      if (rule.times <= 0) rules.splice(index, 1)
    }
    return rule
  }
}

function checkOutage(outage: DexcomRefreshOutage): void {
  if (parseHhMm(outage.start) === undefined || parseHhMm(outage.end) === undefined) {
    throw new TypeError(`"faults.refreshOutage" needs start and end as HH:MM (UTC), got ${JSON.stringify([outage.start, outage.end])}`)
  }
}

/** True when `nowMs` falls in the daily UTC window [start, end) (which may wrap midnight). */
export function inRefreshOutage(outage: DexcomRefreshOutage, nowMs: number): boolean {
  const start = parseHhMm(outage.start)
  const end = parseHhMm(outage.end)
  if (start === undefined || end === undefined) return false
  const minute = Math.floor((((nowMs % 86_400_000) + 86_400_000) % 86_400_000) / 60_000)
  return start <= end ? minute >= start && minute < end : minute >= start || minute < end
}

/** Answers with the fault's status (or drops the connection for status 0). */
export function applyFault(res: ServerResponse, fault: DexcomFault): void {
  if (fault.status === 0) {
    res.socket?.destroy()
    return
  }
  const status = fault.status ?? 500
  const headers: Record<string, string> = {}
  if (fault.retryAfterSeconds !== undefined) headers['retry-after'] = String(fault.retryAfterSeconds)
  const body = fault.body ?? { error: status === 429 ? 'rate_limited' : 'server_error' }
  sendJson(res, status, body, headers)
}
