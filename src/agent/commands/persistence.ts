/** persistence: known persistence locations with owner, mtime and SHA-256 (platform layer). */
import { z } from 'zod';
import { findCommand } from '../../shared/catalog.js';
import { defineCommand } from '../command.js';
import { emitAll, fromPlatform } from './support/platform-listing.js';

export const persistenceCommand = defineCommand({
  spec: findCommand('persistence')!,
  schema: z.object({}),
  async run(ctx) {
    await emitAll(ctx, await fromPlatform('persistence', ctx, () => ctx.platform.listPersistence(ctx.signal)));
  },
});
