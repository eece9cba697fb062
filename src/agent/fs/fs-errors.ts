/**
 * Turns Node's file system errors into the short reasons an analyst reads at the end of a one-line error
 * (`fileinfo: /etc/shadow: permission denied`).
 */
import { describeError } from '../../shared/errors.js';

const REASONS: Readonly<Record<string, string>> = {
  ENOENT: 'no such file or directory',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  ENOTDIR: 'not a directory',
  EISDIR: 'is a directory',
  ELOOP: 'too many levels of symbolic links',
  ENAMETOOLONG: 'file name too long',
  EIO: 'input/output error',
  EMFILE: 'too many open files',
  ENFILE: 'too many open files in system',
  EBUSY: 'device or resource busy',
  ESTALE: 'stale file handle',
  ETXTBSY: 'text file busy',
};

export function errorCode(err: unknown): string | undefined {
  if (typeof err === 'object' && err !== null && 'code' in err) {
    const code = (err as { code: unknown }).code;
    return typeof code === 'string' ? code : undefined;
  }
  return undefined;
}

/** `permission denied`, `no such file or directory`, ... or the error's own message, on one line. */
export function fsReason(err: unknown): string {
  const code = errorCode(err);
  if (code && REASONS[code]) return REASONS[code];
  const message = describeError(err);
  return message.split('\n')[0] ?? message;
}

/** Errors that mean "the thing went away while we looked" (a process exiting, a file deleted). */
export function isGone(err: unknown): boolean {
  const code = errorCode(err);
  return code === 'ENOENT' || code === 'ESRCH' || code === 'ENOTDIR';
}

export function isDenied(err: unknown): boolean {
  const code = errorCode(err);
  return code === 'EACCES' || code === 'EPERM';
}
