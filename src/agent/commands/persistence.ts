/** persistence: known persistence locations with owner, mtime and SHA-256 (platform layer). */
import { commandSpec } from '../../shared/commands/catalog.js';
import { paramsSchema } from '../../shared/commands/command-params.js';
import { defineCommand } from '../command.js';
import { emitAll, fromPlatform } from './support/platform-listing.js';

export const persistenceCommand = defineCommand({
  spec: commandSpec('persistence'),
  schema: paramsSchema(commandSpec('persistence')),
  async run(ctx) {
    await emitAll(ctx, await fromPlatform('persistence', ctx, () => ctx.platform.listPersistence(ctx.signal)));
  },
});
