import { z } from 'zod'

/** True for 127.0.0.0/8, ::1 and localhost: hosts that never leave this machine. */
export function isLoopbackHost(hostname: string): boolean {
  const h = hostname.replace(/^\[|\]$/g, '').toLowerCase()
  return h === 'localhost' || h === '::1' || /^127(\.\d{1,3}){3}$/.test(h)
}

/**
 * An https URL, or plain http to a loopback host (a simulator or test peer on this machine;
 * RFC 8252 §8.3). Anything else fails with `expected an https URL, got "…"`.
 */
export const SecureUrlSchema = z.string().superRefine((value, ctx) => {
  let url: URL
  try {
    url = new URL(value)
  } catch {
    ctx.addIssue({ code: 'custom', message: `expected an https URL, got ${JSON.stringify(value)}` })
    return
  }
  const ok = url.protocol === 'https:' || (url.protocol === 'http:' && isLoopbackHost(url.hostname))
  if (!ok) ctx.addIssue({ code: 'custom', message: `expected an https URL, got ${JSON.stringify(value)}` })
  else if (url.username || url.password)
    ctx.addIssue({ code: 'custom', message: 'must not carry a user name or password' })
  else if (url.hash) ctx.addIssue({ code: 'custom', message: 'must not carry a #fragment' })
})
