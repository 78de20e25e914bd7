import { AppError } from '../errors.js'

const WHY: Record<string, string> = {
  ENOSPC: 'the disk is full',
  EDQUOT: 'a disk quota was hit',
  EFBIG: 'a file size limit was hit',
  EROFS: 'the filesystem is read-only',
  EACCES: 'permission denied',
  EPERM: 'permission denied',
  EISDIR: 'it is a directory',
  ENOTDIR: 'a part of its path is not a directory',
  ELOOP: 'too many symbolic links',
  SQLITE_FULL: 'the disk is full',
  SQLITE_CANTOPEN: 'it cannot be opened (a missing or read-only directory?)',
  SQLITE_READONLY: 'the filesystem is read-only',
  SQLITE_IOERR: 'an I/O error',
  SQLITE_PERM: 'permission denied',
}

/** What the user can do about it, by the kind of failure. */
function advice(code: string): string {
  if (/FULL|NOSPC|DQUOT|FBIG/.test(code)) return 'Free some space, then try again.'
  if (code === 'EISDIR') return 'Move the directory away so that a file can take its place, then try again.'
  return 'Check that the directory exists and that latchkey may write to it (not a read-only mount), then try again.'
}

/**
 * Any filesystem or SQLite I/O failure on one of the auth files, as AUTH_FILE_UNWRITABLE naming
 * the file and what to do (never a stack trace). An AppError passes through unchanged.
 */
export function fsError(file: string, err: unknown, doing: 'read' | 'write' | 'lock'): AppError {
  if (err instanceof AppError) return err
  const raw = (err as { code?: unknown }).code
  const code = typeof raw === 'string' ? raw : 'unknown error'
  const why = WHY[code] ?? WHY[code.replace(/_.*$/, '')] ?? WHY[code.split('_').slice(0, 2).join('_')]
  return new AppError(
    'AUTH_FILE_UNWRITABLE',
    `${file} could not be ${doing === 'read' ? 'read' : doing === 'lock' ? 'locked' : 'written'} (${code}${why ? `: ${why}` : ''}). ${advice(code)}`,
    { cause: err },
  )
}
