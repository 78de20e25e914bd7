import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import type { Deps } from '../deps.js'
import { enqueueNotice } from '../db/outbox.js'
import { CERT_WARNING_DAYS, certificateInfo, readCertificateFiles } from './certificate.js'

const run = promisify(execFile)
const RENEW_TIMEOUT_MS = 120_000

export interface CertificateCheck {
  renewed: 'not configured' | 'ok' | 'failed'
  daysLeft: number | null
  notified: boolean
}

/**
 * The daily tls-check job: runs `tls.renewCommand` when set (a `tailscale cert` that rewrites
 * the files; the daemon's watcher then serves them), then tells the user once per certificate
 * when the one on disk has less than 21 days left.
 */
export async function checkCertificate(deps: Pick<Deps, 'config' | 'db' | 'clock' | 'log'>): Promise<CertificateCheck> {
  const tls = deps.config.tls
  if (tls.mode !== 'files') return { renewed: 'not configured', daysLeft: null, notified: false }
  let renewed: CertificateCheck['renewed'] = 'not configured'
  if (tls.renewCommand) {
    try {
      await run('/bin/sh', ['-c', tls.renewCommand], { timeout: RENEW_TIMEOUT_MS })
      renewed = 'ok'
    } catch (err) {
      renewed = 'failed'
      const e = err as { code?: number | string; stderr?: string }
      deps.log.warn({ exitCode: e.code, stderr: String(e.stderr ?? '').slice(0, 300) }, 'tls.renewCommand failed')
    }
  }
  let info
  try {
    info = certificateInfo(readCertificateFiles(tls.certFile, tls.keyFile).cert)
  } catch (err) {
    deps.log.error({ certFile: tls.certFile, reason: (err as Error).message }, 'cannot read the TLS certificate')
    return { renewed, daysLeft: null, notified: false }
  }
  const now = deps.clock.now()
  const daysLeft = info.daysLeft(now)
  let notified = false
  if (daysLeft < CERT_WARNING_DAYS) {
    const first = deps.db.prepare('INSERT INTO tls_notices (fingerprint, notified_at) VALUES (?, ?) ON CONFLICT DO NOTHING').run(info.fingerprint, now).changes === 1
    if (first) {
      notified = true
      enqueueNotice(deps.db, {
        kind: 'certificate_expiring',
        provider: 'latchkey',
        text:
          `⚠️ latchkey's HTTPS certificate ${daysLeft < 0 ? 'has expired' : `expires in ${daysLeft} days`} (${new Date(info.notAfter).toISOString().slice(0, 10)}). ` +
          (tls.renewCommand ? `Renewing it failed or did not help; run "${tls.renewCommand}" by hand.` : 'Renew it with "tailscale cert", or set tls.renewCommand.'),
        createdAt: now,
      })
    }
  }
  return { renewed, daysLeft, notified }
}
