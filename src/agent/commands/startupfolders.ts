/** startupfolders: autostart entries and boot/login scripts (platform layer). */
import { commandSpec } from '../../shared/commands/catalog.js';
import { paramsSchema } from '../../shared/commands/command-params.js';
import { defineCommand } from '../command.js';
import { emitAll, fromPlatform } from './support/platform-listing.js';

export const startupfoldersCommand = defineCommand({
  spec: commandSpec('startupfolders'),
  schema: paramsSchema(commandSpec('startupfolders')),
  async run(ctx) {
    await emitAll(ctx, await fromPlatform('startupfolders', ctx, () => ctx.platform.listStartupItems(ctx.signal)));
  },
});
