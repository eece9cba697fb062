/**
 * The shape shared by the commands that list what the platform layer reads (services, drivers, ...):
 * ask the layer, turn its failures into one-line command errors, stream the records.
 */
import { stage } from '../../../node/stage-trace.js';
import { CommandError, type JobContext, type JobRecord } from '../../command.js';
import { fsReason } from '../../fs/fs-errors.js';
import { NotSupportedError } from '../../platform/types.js';

/** Runs a platform call; a refusal or failure becomes `<command>: <reason>` on one line. */
export async function fromPlatform<T>(command: string, ctx: JobContext, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (err) {
    if (ctx.signal.aborted) throw err; // the runner reports cancel/time-out itself
    if (err instanceof NotSupportedError) throw new CommandError(err.message, 'not_supported');
    if (err instanceof CommandError) throw err;
    const file =
      typeof err === 'object' && err !== null && 'path' in err && typeof err.path === 'string' ? `${err.path}: ` : '';
    throw new CommandError(`${command}: ${file}${fsReason(err)}`);
  }
}

/** Emits the records (the runner batches them), stopping when the job is cancelled. */
export async function emitAll(ctx: JobContext, records: readonly object[]): Promise<void> {
  ctx.signal.throwIfAborted();
  // For the benchmarks' breakdowns (stage-trace.ts): the first and last of these marks of a job are when
  // its first and last records were read.
  if (ctx.jobId !== undefined) stage(ctx.jobId, 'agent.records');
  // Platform records are plain objects of data: they are serialised as they are, not copied first.
  await ctx.emitMany(records as readonly JobRecord[]);
  ctx.signal.throwIfAborted();
}
