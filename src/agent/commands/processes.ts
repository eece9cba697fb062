/**
 * processes: the running processes, optionally one pid or one name (Linux: comm or executable base name;
 * Windows: the image name, with or without `.exe`).
 */
import path from 'node:path';
import { z } from 'zod';
import { commandSpec } from '../../shared/commands/catalog.js';
import { paramsSchema } from '../../shared/commands/command-params.js';
import { CommandError, defineCommand } from '../command.js';
import type { ProcessInfo } from '../platform/types.js';
import { emitAll, fromPlatform } from './support/platform-listing.js';

/** Base name of an exe path, without the ` (deleted)` the kernel appends when the file is gone. */
function exeName(p: string | null): string | null {
  return p === null ? null : path.basename(p.replace(/ \(deleted\)$/, ''));
}

/** A Windows image name without its `.exe`, in lower case: Windows file names ignore case. */
function windowsStem(name: string): string {
  const lower = name.toLowerCase();
  return lower.endsWith('.exe') ? lower.slice(0, -4) : lower;
}

/**
 * Matches a name against comm (the kernel truncates it to 15 characters) and the executable's base
 * name (complete), case-sensitively, as process names are on Linux. On Windows, against the image name
 * and the image path's file name, ignoring case and `.exe` (`node`, `Node.EXE` and `node.exe` are one).
 */
export function processHasName(p: ProcessInfo, name: string, windows = false): boolean {
  if (!windows) return p.name === name || exeName(p.path) === name;
  const wanted = windowsStem(name);
  return windowsStem(p.name) === wanted || (p.path !== null && windowsStem(path.win32.basename(p.path)) === wanted);
}

export const processesCommand = defineCommand({
  spec: commandSpec('processes'),
  schema: paramsSchema(commandSpec('processes')).extend({ pid: z.coerce.number().int().positive().optional() }),
  async run(ctx, params) {
    const windows = ctx.platform.name === 'win32';
    const wanted = (p: ProcessInfo) =>
      // A pid that is gone (or never was) is an answer, not an error: an empty table, as the reference
      // gives (a process often exits between two commands of an investigation).
      (params.pid === undefined || p.pid === params.pid) &&
      (params.name === undefined || processHasName(p, params.name, windows));
    let matched = 0;
    const emit = async (rows: ProcessInfo[]) => {
      const kept = params.pid === undefined && params.name === undefined ? rows : rows.filter(wanted);
      matched += kept.length;
      if (kept.length > 0) await emitAll(ctx, kept);
    };
    const platform = ctx.platform;
    if (platform.streamProcesses) {
      // Streamed: the first slices are on their way to the console while the rest of the table is read.
      await fromPlatform('processes', ctx, () => platform.streamProcesses!(emit, ctx.signal));
    } else {
      await emit(await fromPlatform('processes', ctx, () => platform.listProcesses(ctx.signal)));
    }
    if (params.name !== undefined && matched === 0)
      throw new CommandError(`processes: no process named ${params.name}`, 'not_found');
    ctx.signal.throwIfAborted();
  },
});
