import { execFileSync } from 'node:child_process'
import { join } from 'node:path'

/**
 * A self-signed certificate and key made with openssl for `host` (and 127.0.0.1), valid for
 * `days`, written to `<dir>/<name>.crt` and `.key` — the shape `tailscale cert` writes.
 */
export function makeCertificate(dir: string, opts: { host: string; days: number; name?: string }): { certFile: string; keyFile: string } {
  const name = opts.name ?? 'cert'
  const certFile = join(dir, `${name}.crt`)
  const keyFile = join(dir, `${name}.key`)
  execFileSync('openssl', [
    'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
    '-keyout', keyFile, '-out', certFile, '-days', String(opts.days), '-subj', `/CN=${opts.host}`,
    '-addext', `subjectAltName=DNS:${opts.host},IP:127.0.0.1`,
  ], { stdio: 'ignore' })
  return { certFile, keyFile }
}
