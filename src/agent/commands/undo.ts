/**
 * undo TYPE TARGET: restores the latest remediation of that entity still in the quarantine, byte-exact
 * with mode, owner and times; cron lines go back at their line, enablement links are recreated. A
 * stopped process is not restarted (its image is restored). TARGET is what remediate was given (or the
 * quarantine entry id, or an original path). Refused in one line when nothing matches or a path is
 * occupied again.
 */
import path from 'node:path';
import { commandSpec } from '../../shared/commands/catalog.js';
import { paramsSchema } from '../../shared/commands/command-params.js';
import { CommandError, defineCommand } from '../command.js';
import { entryRecord, Quarantine } from '../quarantine.js';
import { unitKey } from './remediate.js';
import { undoOnWindows } from './support/remediate-windows.js';

export const undoCommand = defineCommand({
  spec: commandSpec('undo'),
  schema: paramsSchema(commandSpec('undo')),
  async run(ctx, params) {
    const q = Quarantine.of(ctx, 'undo');
    const t = params.target;
    // A Startup item is named by its file name; a Windows path's is after its last backslash.
    const baseName = ctx.platform.name === 'win32' ? path.win32.basename : path.posix.basename;
    // Windows names are compared without regard to case (`undo file c:\users\x.exe` is C:\Users\x.exe).
    const fold = ctx.platform.name === 'win32' ? (k: string) => k.toLowerCase() : (k: string) => k;
    const keys = new Set([fold(t)]);
    if (params.type === 'file' || t.startsWith('/') || t.startsWith('.')) keys.add(fold(ctx.resolvePath(t)));
    if (params.type === 'service' || (params.type === 'scheduledtask' && t.endsWith('.timer')))
      keys.add(fold(unitKey(t)));
    const has = (k: string) => keys.has(fold(k));
    const matches = (await q.list()).filter(
      (candidate) =>
        candidate.type === params.type &&
        candidate.restoredAt === null &&
        (has(candidate.target) ||
          has(candidate.id) ||
          candidate.files.some((f) => has(f.path)) ||
          candidate.lines.some((l) => has(`${l.path}:${l.line}`)) ||
          (candidate.type === 'startupfolder' && candidate.files.some((f) => has(baseName(f.path))))),
    );
    const entry = matches.at(-1);
    if (!entry)
      throw new CommandError(
        `undo: nothing to undo: no ${params.type} ${t} in the quarantine (see remediate list)`,
        'not_found',
      );
    if (ctx.platform.name === 'win32') {
      entry.restoreNotes = await undoOnWindows(ctx, q, entry);
      await q.save(entry);
      await ctx.emit(entryRecord(entry));
      return;
    }
    const notes = await q.restore(entry, ctx.jobId, 'undo');
    if (entry.type === 'process') notes.push('the process itself is not restarted');
    if (entry.type === 'service' || (entry.type === 'scheduledtask' && entry.target.endsWith('.timer'))) {
      await ctx.platform.reloadUnits();
      notes.push(`${entry.target} enabled again; not started (start it with the service manager if needed)`);
    }
    entry.restoreNotes = notes;
    await q.save(entry);
    await ctx.emit(entryRecord(entry));
  },
});
