/** registry: a Windows registry key or value; other platforms answer `not supported on this platform`. */
import { z } from 'zod';
import { findCommand } from '../../shared/catalog.js';
import { defineCommand } from '../command.js';
import { emitAll, fromPlatform } from './support/platform-listing.js';

export const registryCommand = defineCommand({
  spec: findCommand('registry')!,
  schema: z.object({ key: z.string().min(1) }),
  async run(ctx, params) {
    await emitAll(ctx, await fromPlatform('registry', ctx, () => ctx.platform.readRegistry(params.key, ctx.signal)));
  },
});
