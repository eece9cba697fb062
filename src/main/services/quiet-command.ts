/**
 * A command whose output is for main only (path completion's `dir`, the y/N's `fileinfo`/`processes`
 * look-ups): its records are collected, never shown; past `timeoutMs` it is cancelled on the device and the
 * promise rejects with `timeoutMessage`. A failed or refused command rejects with its one-line error.
 */
import type { ConsoleClient } from '../../client/index.js';

export interface QuietOptions {
  timeoutMs: number;
  timeoutMessage: string;
  /** Sent flagged internal (the service accepts that only for the completion probe's exact form). */
  internal?: boolean;
}

export function quietRecords(
  client: ConsoleClient,
  sessionId: string,
  line: string,
  o: QuietOptions,
): Promise<Record<string, unknown>[]> {
  const records: Record<string, unknown>[] = [];
  const run = client.run(
    sessionId,
    line,
    { onRecords: (batch) => records.push(...batch) },
    { internal: o.internal === true },
  );
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => {
      const id = run.commandId();
      try {
        if (id) client.cancel(id);
      } catch {
        // the connection is gone: nothing left to cancel
      }
      reject(new Error(o.timeoutMessage));
    }, o.timeoutMs);
    timer.unref();
  });
  return Promise.race([
    run.outcome.then((outcome) => {
      if (outcome.status !== 'completed') throw new Error(outcome.error ?? outcome.status);
      return records;
    }),
    timeout,
  ]).finally(() => clearTimeout(timer));
}
