/**
 * remediate / undo on a Windows device: the same quarantine (../../quarantine.ts) and the same guarantees as
 * on Linux — nothing deleted without a copy, undo byte-exact — with what Windows keeps besides bytes
 * (attributes, creation time, security descriptor; registry value types; service start types).
 * Files, processes and Startup items: remediate-windows-files.ts. Services, scheduled tasks and registry
 * values: remediate-windows-config.ts.
 */
import { CommandError, type JobContext } from '../../command.js';
import type { Quarantine, QuarantineEntry } from '../../quarantine.js';
import { remediateWindowsConfig, undoWindowsConfig } from './remediate-windows-config.js';
import { remediateWindowsFiles, undoWindowsFiles } from './remediate-windows-files.js';

export async function remediateOnWindows(
  ctx: JobContext,
  q: Quarantine,
  entry: QuarantineEntry,
  target: string,
  auto: boolean,
): Promise<void> {
  switch (entry.type) {
    case 'file':
    case 'process':
    case 'startupfolder':
      return remediateWindowsFiles(ctx, q, entry, target, auto);
    case 'service':
    case 'scheduledtask':
    case 'registry':
      return remediateWindowsConfig(ctx, q, entry, target, auto);
  }
}

/** Puts back what a Windows remediation took; returns the notes for the analyst. */
export async function undoOnWindows(ctx: JobContext, q: Quarantine, entry: QuarantineEntry): Promise<string[]> {
  switch (entry.type) {
    case 'file':
    case 'process':
    case 'startupfolder':
      return undoWindowsFiles(ctx, q, entry);
    case 'service':
    case 'scheduledtask':
    case 'registry':
      return undoWindowsConfig(ctx, q, entry);
  }
}

/** A type that exists on one OS only (registry on Linux). */
export function notOnThisOs(type: string, os: string): CommandError {
  return new CommandError(`remediate: ${type} is a Windows entity type, not on ${os}`, 'refused');
}
