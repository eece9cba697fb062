/**
 * The path a file command works on: the analyst's path resolved against the session's folder. On Windows
 * it is first judged (UNC, device paths, reserved names, streams, lengths: see platform/windows/paths.ts)
 * and refused with a one-line error before any file system call, then resolved the Windows way (drives,
 * either slash, `..` kept at the root), and its drive must exist. Elsewhere it is `ctx.resolvePath`.
 */
import { existsSync } from 'node:fs';
import { escapeControlChars } from '../../shared/commands/format.js';
import { CommandError, type JobContext } from '../command.js';
import { driveRoot, resolveWindowsPath, windowsPathProblem } from '../platform/windows/paths.js';

export function isWindows(ctx: Pick<JobContext, 'platform'>): boolean {
  return ctx.platform.name === 'win32';
}

/** The absolute path `input` names, or a CommandError (`dir: \\server\x: UNC (network) path: …`). */
export function devicePath(
  ctx: Pick<JobContext, 'platform' | 'cwd' | 'resolvePath'>,
  command: string,
  input: string,
): string {
  if (!isWindows(ctx)) return ctx.resolvePath(input);
  const refuse = (problem: string, shown: string): CommandError =>
    new CommandError(`${command}: ${shown}: ${problem}`, 'refused');
  const asTyped = windowsPathProblem(input);
  if (asTyped) throw refuse(asTyped, shortened(input));
  const resolved = resolveWindowsPath(ctx.cwd, input);
  const problem = windowsPathProblem(resolved);
  if (problem) throw refuse(problem, shortened(resolved));
  if (!existsSync(driveRoot(resolved)))
    throw new CommandError(
      `${command}: ${resolved}: there is no drive ${resolved.slice(0, 2)} on this device`,
      'not_found',
    );
  return resolved;
}

/**
 * A path as an error shows it: control characters escaped (an ESC must not reach the analyst's terminal), over-long
 * ones cut.
 */
function shortened(p: string): string {
  return escapeControlChars(p.length > 200 ? `${p.slice(0, 120)}…(${p.length} characters)` : p);
}
