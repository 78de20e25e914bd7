import { unwatchFile, watchFile } from 'node:fs'
import type { Server } from 'node:https'
import type { Logger } from '../log.js'
import { certificateInfo, readCertificateFiles } from './certificate.js'

/**
 * Serves new certificate files without a restart: when either file changes (`tailscale cert`
 * rewrites them on renewal), the pair is re-read and checked, then handed to
 * `server.setSecureContext`, which only affects new connections. A broken pair (half-written,
 * key not matching) is logged and the old one kept. Returns a function that stops watching.
 */
export function watchCertificate(
  server: Pick<Server, 'setSecureContext'>,
  files: { certFile: string; keyFile: string },
  log: Logger,
  intervalMs = 5_000,
): () => void {
  let current = ''
  try {
    current = certificateInfo(readCertificateFiles(files.certFile, files.keyFile).cert).fingerprint
  } catch {
    // start-up already failed loudly if the pair was unusable
  }
  const reload = () => {
    try {
      const pair = readCertificateFiles(files.certFile, files.keyFile)
      const info = certificateInfo(pair.cert)
      if (info.fingerprint === current) return
      server.setSecureContext(pair)
      current = info.fingerprint
      log.info({ fingerprint: info.fingerprint, notAfter: new Date(info.notAfter).toISOString() }, 'serving a new TLS certificate')
    } catch (err) {
      log.warn({ reason: (err as Error).message }, 'certificate files changed but are not a usable pair yet; keeping the old one')
    }
  }
  // Polling (stat) rather than fs.watch: renewals replace the files, which inotify watches lose.
  watchFile(files.certFile, { interval: intervalMs, persistent: false }, reload)
  watchFile(files.keyFile, { interval: intervalMs, persistent: false }, reload)
  return () => {
    unwatchFile(files.certFile, reload)
    unwatchFile(files.keyFile, reload)
  }
}
