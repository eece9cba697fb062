/** scheduledtasks: cron entries, timers and at jobs (platform layer). */
import { commandSpec } from '../../shared/commands/catalog.js';
import { paramsSchema } from '../../shared/commands/command-params.js';
import { defineCommand } from '../command.js';
import { emitAll, fromPlatform } from './support/platform-listing.js';

export const scheduledtasksCommand = defineCommand({
  spec: commandSpec('scheduledtasks'),
  schema: paramsSchema(commandSpec('scheduledtasks')),
  async run(ctx) {
    await emitAll(ctx, await fromPlatform('scheduledtasks', ctx, () => ctx.platform.listScheduledTasks(ctx.signal)));
  },
});
