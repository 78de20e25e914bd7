import { X509Certificate } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { createSecureContext } from 'node:tls'

/** Warn this long before the served certificate expires (oauth-security.md F2). */
export const CERT_WARNING_DAYS = 21
const DAY_MS = 24 * 60 * 60 * 1000

export interface CertificateFiles {
  key: Buffer
  cert: Buffer
}

export interface CertificateInfo {
  /** SHA-256 fingerprint, as openssl prints it. */
  fingerprint: string
  notAfter: number
  /** Whole days left at `now` (negative once expired). */
  daysLeft(now: number): number
  /** True when the certificate is valid for `hostname` (SAN or CN). */
  matchesHost(hostname: string): boolean
}

/** Reads a certificate and key pair and checks that they belong together (throws otherwise). */
export function readCertificateFiles(certFile: string, keyFile: string): CertificateFiles {
  const files = { cert: readFileSync(certFile), key: readFileSync(keyFile) }
  createSecureContext(files) // throws on a malformed file or a key that does not match the certificate
  return files
}

/** What latchkey needs to know about a PEM certificate (the first in a chain). */
export function certificateInfo(certPem: Buffer | string): CertificateInfo {
  const x509 = new X509Certificate(certPem)
  const notAfter = Date.parse(x509.validTo)
  return {
    fingerprint: x509.fingerprint256,
    notAfter,
    daysLeft: (now) => Math.floor((notAfter - now) / DAY_MS),
    matchesHost: (hostname) => x509.checkHost(hostname) !== undefined,
  }
}
