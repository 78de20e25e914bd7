import { GrammyError, HttpError } from 'grammy'

/**
 * A loggable one-liner for an error from the Bot API client. Never the error object: a
 * GrammyError carries the request payload (message texts), and the cause of an HttpError
 * can carry the request URL, which holds the bot token (`/bot<token>/method`).
 */
export function describeBotError(err: unknown, token?: string): string {
  let text: string
  if (err instanceof GrammyError) text = `${err.method}: ${err.error_code} ${err.description}`
  else if (err instanceof HttpError) {
    const code = (err.error as { code?: unknown; cause?: { code?: unknown } } | undefined)
    text = `${err.message} (${String(code?.code ?? code?.cause?.code ?? 'network error')})`
  } else text = err instanceof Error ? `${err.name}: ${err.message}` : String(err)
  return redactToken(text, token)
}

/** Removes the bot token, and anything shaped like one, from a string. */
export function redactToken(text: string, token?: string): string {
  const out = token ? text.split(token).join('[bot token]') : text
  return out.replace(/\d{5,20}:[A-Za-z0-9_-]{30,}/g, '[bot token]')
}
