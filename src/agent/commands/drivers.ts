/** drivers: loaded kernel modules / drivers (platform layer). */
import { z } from 'zod';
import { findCommand } from '../../shared/catalog.js';
import { defineCommand } from '../command.js';
import { emitAll, fromPlatform } from './support/platform-listing.js';

export const driversCommand = defineCommand({
  spec: findCommand('drivers')!,
  schema: z.object({}),
  async run(ctx) {
    await emitAll(ctx, await fromPlatform('drivers', ctx, () => ctx.platform.listDrivers(ctx.signal)));
  },
});
