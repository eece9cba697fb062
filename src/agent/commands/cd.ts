/**
 * cd: changes the session's current directory (the runner stores the returned cwd for the session). On
 * Windows `cd D:\` and `cd D:` change drives (see fs/device-path.ts).
 */
import { constants as fsc, promises as fsp } from 'node:fs';
import { commandSpec } from '../../shared/commands/catalog.js';
import { paramsSchema } from '../../shared/commands/command-params.js';
import { CommandError, defineCommand } from '../command.js';
import { devicePath } from '../fs/device-path.js';
import { errorCode, fsReason } from '../fs/fs-errors.js';

export const cdCommand = defineCommand({
  spec: commandSpec('cd'),
  schema: paramsSchema(commandSpec('cd')),
  async run(ctx, params) {
    const target = devicePath(ctx, 'cd', params.path);
    let isDirectory: boolean;
    try {
      isDirectory = (await fsp.stat(target)).isDirectory();
    } catch (err) {
      const code = errorCode(err);
      if (code === 'ENOENT' || code === 'ENOTDIR')
        throw new CommandError(`cd: ${target}: no such directory`, 'not_found');
      throw new CommandError(`cd: ${target}: ${fsReason(err)}`);
    }
    if (!isDirectory) throw new CommandError(`cd: ${target}: not a directory`);
    try {
      // Search permission is what entering a folder needs.
      await fsp.access(target, fsc.X_OK);
    } catch {
      throw new CommandError(`cd: ${target}: permission denied`, 'denied');
    }
    await ctx.emit({ path: target });
    return { cwd: target };
  },
});
