/** services: services and init scripts (platform layer). */
import { commandSpec } from '../../shared/commands/catalog.js';
import { paramsSchema } from '../../shared/commands/command-params.js';
import { defineCommand } from '../command.js';
import { emitAll, fromPlatform } from './support/platform-listing.js';

export const servicesCommand = defineCommand({
  spec: commandSpec('services'),
  schema: paramsSchema(commandSpec('services')),
  async run(ctx) {
    await emitAll(ctx, await fromPlatform('services', ctx, () => ctx.platform.listServices(ctx.signal)));
  },
});
