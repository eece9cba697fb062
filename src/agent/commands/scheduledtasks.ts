/** scheduledtasks: cron entries, timers and at jobs (platform layer). */
import { z } from 'zod';
import { findCommand } from '../../shared/catalog.js';
import { defineCommand } from '../command.js';
import { emitAll, fromPlatform } from './support/platform-listing.js';

export const scheduledtasksCommand = defineCommand({
  spec: findCommand('scheduledtasks')!,
  schema: z.object({}),
  async run(ctx) {
    await emitAll(ctx, await fromPlatform('scheduledtasks', ctx, () => ctx.platform.listScheduledTasks(ctx.signal)));
  },
});
