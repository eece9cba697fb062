/** services: services and init scripts (platform layer). */
import { z } from 'zod';
import { findCommand } from '../../shared/catalog.js';
import { defineCommand } from '../command.js';
import { emitAll, fromPlatform } from './support/platform-listing.js';

export const servicesCommand = defineCommand({
  spec: findCommand('services')!,
  schema: z.object({}),
  async run(ctx) {
    await emitAll(ctx, await fromPlatform('services', ctx, () => ctx.platform.listServices(ctx.signal)));
  },
});
