/** registry: a Windows registry key or value; other platforms answer `not supported on this platform`. */
import { commandSpec } from '../../shared/commands/catalog.js';
import { paramsSchema } from '../../shared/commands/command-params.js';
import { defineCommand } from '../command.js';
import { emitAll, fromPlatform } from './support/platform-listing.js';

export const registryCommand = defineCommand({
  spec: commandSpec('registry'),
  schema: paramsSchema(commandSpec('registry')),
  async run(ctx, params) {
    await emitAll(ctx, await fromPlatform('registry', ctx, () => ctx.platform.readRegistry(params.key, ctx.signal)));
  },
});
