/**
 * Runs a getfile to completion from the analyst's side: writes the bytes with FileDownload, and when
 * the transfer breaks because the device went offline, waits for it to come back and resumes from the
 * last byte on disk (`-offset N`), in the same session or a new one. Used by `lr exec`, `lr shell` and the
 * workstation's consoles.
 *
 * Cancelling (`signal`) is final: once aborted, no further attempt is started, whatever the device does
 * next; while the device is offline the runner returns at once (the partial file stays on disk, and the
 * next `getfile` of the same file resumes from it, saying so).
 */
import { formatBytes } from '../shared/commands/format.js';
import { quoteArg } from '../shared/commands/grammar.js';
import type { ConsoleClient, CommandOutcome } from './console-client.js';
import { DownloadMismatchError, FileDownload, type DownloadResult } from '../node/file-download.js';
import { describeError } from '../shared/errors.js';

export interface GetfileOptions {
  client: ConsoleClient;
  sessionId: string;
  deviceId: string;
  path: string;
  auto?: boolean;
  outDir: string;
  /** How long to wait for an offline device to return before giving up (ms). */
  resumeWaitMs?: number;
  onProgress?(p: ReturnType<FileDownload['progress']>): void;
  /** Messages for the analyst (resuming, waiting). */
  onNotice?(message: string): void;
  /** The command went to the background (`&` or Ctrl+Z): the console gets its prompt back. */
  onBackground?(commandId: string): void;
  /** Each attempt's command ID, as soon as the service accepted it (to cancel or background it). */
  onStarted?(commandId: string): void;
  /** The device's description of the file (path, size, mode, owner, times), at each attempt. */
  onFileRecord?(record: Record<string, unknown>): void;
  /** Aborted when the analyst cancels: no attempt starts after it; a wait for the device ends at once. */
  signal?: AbortSignal;
  /** Discard a partial download kept from an earlier run and start from byte 0 (`getfile PATH -restart`). */
  restart?: boolean;
  /** Command line suffix, e.g. ' &'. */
  suffix?: string;
  /**
   * A command other than getfile that streams a file the same way (`collect`): run as is, saved under
   * `path`'s base name, never resumed (its file does not outlive the command).
   */
  line?: string;
}

/** `records`: the device's `file` and `file-end` records of the attempt that finished (every field, for -output). */
export type GetfileResult =
  | { ok: true; download: DownloadResult; commandId: string; records: Record<string, unknown>[] }
  | { ok: false; outcome: CommandOutcome };

/** `154.3 MiB of 1.0 GiB (15 %)`: how far a partial download got. */
export function describePartial(bytes: number, total: number): string {
  const percent = total > 0 ? Math.floor((bytes / total) * 100) : 0;
  return total > 0 ? `${formatBytes(bytes)} of ${formatBytes(total)} (${percent} %)` : formatBytes(bytes);
}

/** The analyst cancelled: one clean message (no command prefix: the console shows which command it was). */
function cancelledOutcome(commandId: string | undefined, dl: FileDownload, why: string): GetfileResult {
  const kept =
    dl.resumeOffset > 0
      ? `; the partial file (${describePartial(dl.resumeOffset, dl.total)}) is kept: getfile again resumes it, -restart starts from zero`
      : '';
  return {
    ok: false,
    outcome: {
      commandId: commandId ?? '?',
      status: 'cancelled',
      error: `cancelled ${why}${kept}`,
      durationMs: 0,
      background: false,
    },
  };
}

export async function runGetfile(o: GetfileOptions): Promise<GetfileResult> {
  const dl = new FileDownload(o.outDir, o.deviceId, o.path);
  if (o.restart && dl.resumeOffset > 0) {
    o.onNotice?.(
      `${o.path}: discarding the partial download (${describePartial(dl.resumeOffset, dl.total)}) and starting from zero`,
    );
    dl.reset();
  } else if (dl.resumeOffset > 0 && o.line === undefined) {
    o.onNotice?.(
      `resuming ${o.path} at byte ${dl.resumeOffset}: ${describePartial(dl.resumeOffset, dl.total)}, kept from an earlier download; getfile ${quoteArg(o.path)} -restart starts from zero`,
    );
  }
  let lastCommandId: string | undefined;
  let sessionId = o.sessionId;
  let restartedWhole = false;
  let online = true;
  const onState = (id: string, on: boolean) => {
    if (id === o.deviceId) online = on;
  };
  o.client.on('deviceState', onState);
  try {
    for (let attempt = 0; ; attempt++) {
      if (o.signal?.aborted) {
        dl.close();
        return cancelledOutcome(lastCommandId, dl, 'by the analyst');
      }
      if (attempt > 0 && dl.resumeOffset > 0)
        o.onNotice?.(`resuming ${o.path} at byte ${dl.resumeOffset}: ${describePartial(dl.resumeOffset, dl.total)}`);
      const line =
        o.line !== undefined
          ? `${o.line}${o.suffix ?? ''}`
          : `getfile ${quoteArg(o.path)}${o.auto ? ' -auto' : ''}${dl.resumeOffset > 0 ? ` -offset ${dl.resumeOffset}` : ''}${attempt === 0 ? (o.suffix ?? '') : ''}`;
      let restart = false;
      let failure: Error | null = null;
      let holding: (() => void) | null = null;
      const release = (): void => {
        holding?.();
        holding = null;
      };
      const records: Record<string, unknown>[] = [];
      const ended = new Promise<CommandOutcome>((resolve) => {
        const run = o.client.run(sessionId, line, {
          onStarted: (f) => {
            lastCommandId = f.commandId;
            o.onStarted?.(f.commandId);
          },
          onRecords: (batch) => {
            for (const r of batch) {
              // `fg` replays what the job printed so far: its file record again, which is not a new transfer.
              if (records.some((seen) => seen.type === r.type && (r.type === 'file' || r.type === 'file-end')))
                continue;
              if (r.type === 'file' || r.type === 'file-end') records.push(r);
              if (r.type === 'file') o.onFileRecord?.(r);
              if (
                r.type === 'file' &&
                dl.onFileRecord(r as { size: number; mtime: string; offset: number }) === 'restart'
              )
                restart = true;
              else if (r.type === 'file-end') dl.onEndRecord(r as { sha256: string; size: number });
            }
          },
          onData: (offset, payload) => {
            if (failure || restart) return;
            try {
              dl.traceKey = run.commandId() ?? '';
              // Written in the background while the next frames arrive; when the disk lags too far behind, the
              // console stops reading (and so, hop by hop, the agent stops sending) until it catches up.
              if (!dl.queueData(offset, payload) && !holding) {
                holding = o.client.holdData();
                void dl.belowLowWater().then(release);
              }
              o.onProgress?.(dl.progress());
            } catch (e) {
              failure = e as Error;
              const id = run.commandId();
              if (id) o.client.cancel(id);
            }
          },
          onEnd: (outcome) => resolve(outcome),
        });
        run.outcome.then(
          (first) => {
            if (first.background && first.status === 'running') o.onBackground?.(first.commandId);
          },
          (e: Error) =>
            resolve({
              commandId: run.commandId() ?? '?',
              status: 'failed',
              error: e.message,
              durationMs: 0,
              background: false,
            }),
        );
      });
      const outcome = await ended;
      // Every received byte on disk (or the write error) before the outcome is judged: `written` is the resume point.
      const writeError = await dl.settle();
      release();
      failure ??= writeError;
      if (failure) {
        // Bytes past the announced size, or out of order: what is on disk cannot be resumed from.
        dl.reset();
        return {
          ok: false,
          outcome: {
            ...outcome,
            status: 'failed',
            error: `getfile: ${describeError(failure)}; the partial file was discarded`,
          },
        };
      }
      if (restart) {
        dl.reset();
        o.onNotice?.(`${o.path} changed on the device since the partial download: starting again`);
        continue;
      }
      if (outcome.status === 'completed') {
        const resumed = dl.resumedFrom > 0 && !restartedWhole;
        try {
          return { ok: true, download: dl.finish(), commandId: outcome.commandId, records };
        } catch (e) {
          // A partial file from an earlier run that was damaged on disk: finish() discarded it; once, from zero.
          if (resumed && e instanceof DownloadMismatchError && o.line === undefined) {
            restartedWhole = true;
            o.onNotice?.(
              `${o.path}: the partial file did not match the device's file (${e.message.split(':')[0]}): downloading it again from the start`,
            );
            continue;
          }
          return { ok: false, outcome: { ...outcome, status: 'failed', error: `getfile: ${describeError(e)}` } };
        }
      }
      if (outcome.status === 'cancelled' && o.signal?.aborted && o.line === undefined) {
        dl.close();
        return cancelledOutcome(outcome.commandId, dl, 'by the analyst');
      }
      const deviceLost =
        outcome.status === 'failed' &&
        (!online || /went offline|connection to the service was lost/.test(outcome.error ?? ''));
      if (deviceLost && o.signal?.aborted) {
        dl.close();
        return cancelledOutcome(outcome.commandId, dl, 'by the analyst');
      }
      if (!deviceLost || attempt >= 20 || o.line !== undefined) {
        if (o.line !== undefined) dl.reset();
        dl.close();
        return { ok: false, outcome };
      }
      // The service said the device went offline: believe it, even when its device.state event is still on the
      // way (under load it can come after the failure). Otherwise the wait below would see the stale "online"
      // and send the resume at once, to an offline device, under the analyst's name.
      if (/went offline/.test(outcome.error ?? '')) online = false;
      o.onNotice?.(
        `the device went offline at ${describePartial(dl.resumeOffset, dl.total)}; waiting for it to come back to resume`,
      );
      const back = await waitOnline(o.client, o.deviceId, () => online, o.resumeWaitMs ?? 10 * 60_000, o.signal);
      if (back === 'aborted') {
        dl.close();
        return cancelledOutcome(outcome.commandId, dl, 'while the device was offline (nothing more was sent to it)');
      }
      if (!back) {
        dl.close();
        return {
          ok: false,
          outcome: {
            ...outcome,
            error: `${outcome.error ?? 'device offline'}; it did not come back (the partial file is kept: run getfile again to resume)`,
          },
        };
      }
      online = true;
      try {
        sessionId = (await o.client.openSession(o.deviceId)).id;
      } catch {
        /* the session survived the agent's reconnection: keep using it */
      }
    }
  } finally {
    o.client.off('deviceState', onState);
  }
}

/** Resolves true when the device is back, false after `timeoutMs`, 'aborted' as soon as `signal` aborts. */
function waitOnline(
  client: ConsoleClient,
  deviceId: string,
  isOnline: () => boolean,
  timeoutMs: number,
  signal?: AbortSignal,
): Promise<boolean | 'aborted'> {
  if (signal?.aborted) return Promise.resolve('aborted');
  if (isOnline()) return Promise.resolve(true);
  return new Promise((resolve) => {
    const done = (result: boolean | 'aborted'): void => {
      clearTimeout(timer);
      client.off('deviceState', on);
      signal?.removeEventListener('abort', aborted);
      resolve(result);
    };
    const timer = setTimeout(() => done(false), timeoutMs);
    const on = (id: string, online: boolean) => {
      if (id === deviceId && online) done(true);
    };
    const aborted = (): void => done('aborted');
    client.on('deviceState', on);
    signal?.addEventListener('abort', aborted, { once: true });
  });
}
