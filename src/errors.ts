/** Stable machine codes for every error latchkey raises on purpose. */
export type ErrorCode =
  | 'CONFIG_INVALID'
  | 'PROVIDER_UNKNOWN'
  | 'PROVIDER_NOT_CONFIGURED'
  | 'PROVIDER_BAD_RESPONSE'
  | 'PROVIDER_UNREACHABLE'
  | 'OAUTH_ERROR'
  | 'AUTH_FILE_CORRUPT'
  | 'AUTH_FILE_UNWRITABLE'
  | 'AUTH_FILE_UNSAFE'
  | 'LOCK_TIMEOUT'
  | 'NOT_CONNECTED'
  | 'NEEDS_REAUTH'
  | 'DAEMON_UNREACHABLE'
  | 'RATE_LIMITED'
  | 'DISCOVERY_FAILED'
  | 'DISCOVERY_REFUSED'

/** An expected failure with a stable code and a message fit for the user (never a secret). */
export class AppError extends Error {
  readonly code: ErrorCode
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.name = 'AppError'
    this.code = code
  }
}

export function isAppError(err: unknown, code?: ErrorCode): err is AppError {
  return err instanceof AppError && (code === undefined || err.code === code)
}
