/** remediate / undo on Windows: file, process, startupfolder (placeholder: not written yet; refuses, never a made-up result). */
import { CommandError, type JobContext } from '../../command.js';
import type { Quarantine, QuarantineEntry } from '../../quarantine.js';

export async function remediateWindowsFiles(_ctx: JobContext, _q: Quarantine, entry: QuarantineEntry, _target: string, _auto: boolean): Promise<void> {
  throw new CommandError(`remediate: ${entry.type}: not supported on this platform yet`, 'not_supported');
}

export async function undoWindowsFiles(_ctx: JobContext, _q: Quarantine, entry: QuarantineEntry): Promise<string[]> {
  throw new CommandError(`undo: ${entry.type}: not supported on this platform yet`, 'not_supported');
}
