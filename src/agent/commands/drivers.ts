/** drivers: loaded kernel modules / drivers (platform layer). */
import { commandSpec } from '../../shared/commands/catalog.js';
import { paramsSchema } from '../../shared/commands/command-params.js';
import { defineCommand } from '../command.js';
import { emitAll, fromPlatform } from './support/platform-listing.js';

export const driversCommand = defineCommand({
  spec: commandSpec('drivers'),
  schema: paramsSchema(commandSpec('drivers')),
  async run(ctx) {
    await emitAll(ctx, await fromPlatform('drivers', ctx, () => ctx.platform.listDrivers(ctx.signal)));
  },
});
