import { BODY_TOO_LARGE, type HttpClient } from '../deps.js'
import { AppError } from '../errors.js'
import type { TokenRequest } from './requests.js'
import type { RawResponse } from './token-response.js'

/** A token response is a few KB (two tokens, maybe an id_token); anything far larger is not one. */
export const MAX_TOKEN_RESPONSE_BYTES = 64 * 1024

/**
 * POSTs a token request, never retried: a code or a rotating refresh token is single-use, so a
 * retry could burn it. got errors carry the request body (client secret, code), so only their
 * code and the URL's host survive into our error.
 */
export async function fetchToken(http: HttpClient, request: TokenRequest): Promise<RawResponse> {
  try {
    const res = await http.post(request.url, {
      form: request.form,
      headers: request.headers,
      throwHttpErrors: false,
      followRedirect: false,
      retry: { limit: 0 },
    }, { maxBytes: MAX_TOKEN_RESPONSE_BYTES })
    return { status: res.statusCode, contentType: String(res.headers['content-type'] ?? ''), body: res.body }
  } catch (err) {
    const code = (err as { code?: string }).code ?? 'ERR_UNKNOWN'
    if (code === BODY_TOO_LARGE)
      throw new AppError('PROVIDER_BAD_RESPONSE', `the token endpoint at ${new URL(request.url).host} answered with more than ${MAX_TOKEN_RESPONSE_BYTES / 1024} KiB, which is not a token response; it was cut off`)
    throw new AppError('PROVIDER_UNREACHABLE', `could not reach the token endpoint at ${new URL(request.url).host} (${code})`)
  }
}
