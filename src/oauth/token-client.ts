import type { HttpClient } from '../deps.js'
import { AppError } from '../errors.js'
import type { TokenRequest } from './requests.js'
import type { RawResponse } from './token-response.js'

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
    })
    return { status: res.statusCode, contentType: String(res.headers['content-type'] ?? ''), body: res.body }
  } catch (err) {
    const code = (err as { code?: string }).code ?? 'ERR_UNKNOWN'
    throw new AppError('PROVIDER_UNREACHABLE', `could not reach the token endpoint at ${new URL(request.url).host} (${code})`)
  }
}
