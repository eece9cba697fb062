/** connections: TCP/UDP sockets with the process that holds each (platform layer). */
import { commandSpec } from '../../shared/commands/catalog.js';
import { paramsSchema } from '../../shared/commands/command-params.js';
import { defineCommand } from '../command.js';
import { emitAll, fromPlatform } from './support/platform-listing.js';

export const connectionsCommand = defineCommand({
  spec: commandSpec('connections'),
  schema: paramsSchema(commandSpec('connections')),
  async run(ctx) {
    // Streamed: with thousands of sockets the first rows leave while the rest of the tables is read.
    await fromPlatform('connections', ctx, () =>
      ctx.platform.streamConnections((rows) => emitAll(ctx, rows), ctx.signal),
    );
  },
});
