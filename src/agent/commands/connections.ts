/** connections: TCP/UDP sockets with the process that holds each (platform layer). */
import { z } from 'zod';
import { findCommand } from '../../shared/catalog.js';
import { defineCommand } from '../command.js';
import { emitAll, fromPlatform } from './support/platform-listing.js';

export const connectionsCommand = defineCommand({
  spec: findCommand('connections')!,
  schema: z.object({}),
  async run(ctx) {
    // Streamed: with thousands of sockets the first rows leave while the rest of the tables is read.
    await fromPlatform('connections', ctx, () => ctx.platform.streamConnections((rows) => emitAll(ctx, rows), ctx.signal));
  },
});
