/**
 * Error values of the IPC layer. Messages are always one line: they end up in a status line, a log file
 * or a test assertion, and a stack trace or a multi-line zod dump helps none of them.
 */
import type { z } from 'zod';
import type { IpcError, IpcErrorCode } from '../../shared/workstation/ipc-contract.js';
import { describeError } from '../../shared/errors.js';
import { oneLine } from '../../shared/commands/format.js';

const MAX_MESSAGE_CHARS = 300;
const MAX_REPORTED_ISSUES = 3;

export { oneLine };

export function ipcError(code: IpcErrorCode, message: string): IpcError {
  return { code, message: oneLine(message, MAX_MESSAGE_CHARS) };
}

export function ipcFailure(code: IpcErrorCode, message: string): { readonly ok: false; readonly error: IpcError } {
  return { ok: false, error: ipcError(code, message) };
}

/** `text: expected string, received number; other: ...` from zod issues (the first few only). */
export function describeIssues(issues: readonly z.core.$ZodIssue[]): string {
  const shown = issues.slice(0, MAX_REPORTED_ISSUES).map((issue) => {
    const where = issue.path.length > 0 ? issue.path.map(String).join('.') : '(payload)';
    // zod 4 prefixes type errors with "Invalid input: "; the path already says where, so drop it.
    const what = issue.message.replace(/^Invalid input: /, '');
    return `${where}: ${what.charAt(0).toLowerCase()}${what.slice(1)}`;
  });
  const more = issues.length > MAX_REPORTED_ISSUES ? `; and ${issues.length - MAX_REPORTED_ISSUES} more` : '';
  return shown.join('; ') + more;
}

/** The first line of whatever was thrown. */
export function describeThrown(thrown: unknown): string {
  const text = describeError(thrown);
  return oneLine(text.split('\n', 1)[0] ?? '', MAX_MESSAGE_CHARS);
}
