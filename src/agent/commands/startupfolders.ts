/** startupfolders: autostart entries and boot/login scripts (platform layer). */
import { z } from 'zod';
import { findCommand } from '../../shared/catalog.js';
import { defineCommand } from '../command.js';
import { emitAll, fromPlatform } from './support/platform-listing.js';

export const startupfoldersCommand = defineCommand({
  spec: findCommand('startupfolders')!,
  schema: z.object({}),
  async run(ctx) {
    await emitAll(ctx, await fromPlatform('startupfolders', ctx, () => ctx.platform.listStartupItems(ctx.signal)));
  },
});
