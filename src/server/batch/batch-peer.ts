/**
 * The console a batch's session talks to: no analyst behind it, the service itself. It runs one command
 * line at a time through the pipeline (same parsing, roles, signing, command log as a console) and keeps
 * what comes back on disk, per device and step, under DATA/batches/<batch>/<device>/:
 *   step-N.jsonl   the records, one JSON array per line (as the command log keeps them), bounded;
 *   step-N.txt     text output, bounded;
 *   files/…        a file the step pulled (getfile, collect), written as it arrives and kept only once its
 *                  size and SHA-256 equal the ones the agent computed (node/file-download.ts).
 * Writes are synchronous and small, so the pipeline's flow control never waits on this console.
 */
import { closeSync, mkdirSync, openSync, writeSync } from 'node:fs';
import { basename, join } from 'node:path';
import { decodeDataFrame, type JobStatus, type ToClient } from '../../shared/wire/protocol.js';
import { MAX_BATCH_RESULT_BYTES, type BatchFileRecord } from '../../shared/wire/batch.js';
import { FileDownload } from '../../node/file-download.js';
import { findCommand } from '../../shared/commands/catalog.js';
import type { ConsolePeer } from '../sessions.js';
import type { User } from '../store.js';
import { describeError } from '../../shared/errors.js';

export interface StepOutcome {
  commandId?: string;
  status: JobStatus;
  error?: string;
  durationMs: number;
  rows: number;
  textBytes: number;
  truncated: boolean;
  file?: BatchFileRecord;
}

type Rec = Record<string, unknown>;

/** How long a step may still run once its session closed under it. */
const ABANDON_AFTER_MS = 30_000;

/** One step's output on its way to disk. */
class StepCollector {
  commandId: string | undefined;
  rows = 0;
  textBytes = 0;
  truncated = false;
  private recordsFd: number | null = null;
  private recordBytes = 0;
  private textFd: number | null = null;
  private download: FileDownload | null = null;
  private fileRecord: Rec | null = null;
  private failure: string | null = null;
  readonly done: Promise<StepOutcome>;
  private resolve!: (o: StepOutcome) => void;

  constructor(
    private readonly dir: string,
    private readonly index: number,
    private readonly deviceId: string,
    private readonly cancel: (commandId: string) => void,
  ) {
    this.done = new Promise((r) => (this.resolve = r));
  }

  /** Whether this step's command streams a file (getfile, collect): only then is a `file` record a transfer. */
  private streamsFile = false;

  started(commandId: string, name: string): void {
    this.commandId = commandId;
    this.streamsFile = findCommand(name)?.streamsFile === true;
  }

  records(records: Rec[]): void {
    const plain: Rec[] = [];
    for (const r of records) {
      // dir's rows are `file` records too: only a transfer's (getfile, collect: with an offset) starts a download.
      if (
        this.streamsFile &&
        r.type === 'file' &&
        typeof r.path === 'string' &&
        typeof r.size === 'number' &&
        typeof r.offset === 'number'
      )
        this.onFile(r);
      else if (this.streamsFile && r.type === 'file-end' && this.download) {
        this.download.onEndRecord(r as { sha256: string; size: number });
        if (this.fileRecord) this.fileRecord = { ...this.fileRecord, sha256: r.sha256 };
      } else plain.push(r);
    }
    if (plain.length > 0) this.writeRecords(plain);
  }

  private onFile(r: Rec): void {
    if (this.download) return; // one file per step
    const dir = join(this.dir, 'files', `step-${this.index}`);
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    this.download = new FileDownload(dir, this.deviceId, r.path as string);
    this.download.reset(); // a batch never resumes a file kept from elsewhere
    if (this.download.onFileRecord(r as { size: number; mtime: string; offset: number }) === 'restart')
      this.fail('the device sent the file from another offset than 0');
    this.fileRecord = { type: 'file', path: r.path, size: r.size, mtime: r.mtime };
  }

  data(frame: Buffer): void {
    if (this.failure || !this.download) return;
    const f = decodeDataFrame(frame);
    if ('error' in f) return this.fail(f.error);
    try {
      this.download.onData(f.offset, Buffer.from(f.payload.buffer, f.payload.byteOffset, f.payload.byteLength));
    } catch (e) {
      this.fail(describeError(e));
    }
  }

  private fail(message: string): void {
    if (this.failure) return;
    this.failure = message;
    if (this.commandId) this.cancel(this.commandId);
  }

  text(text: string): void {
    const bytes = Buffer.byteLength(text);
    if (this.textBytes + bytes > MAX_BATCH_RESULT_BYTES) {
      this.truncated = true;
      return;
    }
    this.textFd ??= openSync(join(this.dir, `step-${this.index}.txt`), 'a', 0o600);
    writeSync(this.textFd, text);
    this.textBytes += bytes;
  }

  private writeRecords(records: Rec[]): void {
    const line = `${JSON.stringify(records)}\n`;
    if (this.recordBytes + line.length > MAX_BATCH_RESULT_BYTES) {
      this.truncated = true;
      return;
    }
    this.recordsFd ??= openSync(join(this.dir, `step-${this.index}.jsonl`), 'a', 0o600);
    writeSync(this.recordsFd, line);
    this.recordBytes += line.length;
    this.rows += records.length;
  }

  end(status: JobStatus, error: string | undefined, durationMs: number): void {
    let outcome: StepOutcome = {
      status,
      durationMs,
      rows: this.rows,
      textBytes: this.textBytes,
      truncated: this.truncated,
    };
    if (this.commandId) outcome.commandId = this.commandId;
    if (error) outcome.error = error;
    if (this.download) {
      if (this.failure) {
        this.download.reset();
        outcome = { ...outcome, status: 'failed', error: `the file was not kept: ${this.failure}` };
      } else if (status === 'completed') {
        try {
          const got = this.download.finish();
          outcome.file = { name: basename(got.file), size: got.size, sha256: got.sha256 };
          this.writeRecords([{ ...this.fileRecord, sha256: got.sha256, savedAs: basename(got.file) }]);
          outcome.rows = this.rows;
        } catch (e) {
          outcome = { ...outcome, status: 'failed', error: describeError(e) };
        }
      } else this.download.reset();
    }
    this.close();
    this.resolve(outcome);
  }

  close(): void {
    for (const fd of [this.recordsFd, this.textFd]) if (fd !== null) closeSync(fd);
    this.recordsFd = this.textFd = null;
    this.download?.close();
  }
}

export class BatchPeer implements ConsolePeer {
  private step: StepCollector | null = null;
  /** Set when the service closed the session (idle, revoked token, shutdown…): the running step ends with it. */
  closedReason: string | null = null;

  constructor(
    readonly user: User,
    private readonly dir: string,
    private readonly deviceId: string,
    private readonly cancel: (commandId: string) => void,
  ) {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
  }

  /**
   * Starts collecting step `index`; call before handing its line to the pipeline (a refusal is announced
   * synchronously, inside submit). The promise settles when the command ends, whatever its status.
   */
  expect(index: number): Promise<StepOutcome> {
    this.step = new StepCollector(this.dir, index, this.deviceId, this.cancel);
    return this.step.done;
  }

  /** The command id of the step running now (to cancel it). */
  runningCommand(): string | undefined {
    return this.step?.commandId;
  }

  send(frame: ToClient): void {
    const step = this.step;
    switch (frame.t) {
      case 'command.started':
        step?.started(frame.commandId, frame.name);
        return;
      case 'command.end':
        // A background end (`&`, never sent by a batch) or another command's end is not this step's.
        if (!step || (step.commandId && frame.commandId !== step.commandId) || frame.background) return;
        this.step = null;
        step.end(frame.status, frame.error, frame.durationMs);
        return;
      case 'session.closed':
        this.closedReason = frame.reason;
        // The pipeline ends a running step itself when its session closes (the agent confirms the cancel, or
        // the device is gone); if nothing comes, the step must not wait forever.
        if (step)
          setTimeout(
            () =>
              this.step === step && this.abandon(`the session ended (${frame.reason}) and the device did not confirm`),
            ABANDON_AFTER_MS,
          ).unref();
        return;
      default:
        return; // traces, presence: nothing to keep
    }
  }

  sendRaw(json: string): void {
    const step = this.step;
    if (!step) return;
    let frame: { t?: string; commandId?: string; records?: Rec[]; text?: string };
    try {
      frame = JSON.parse(json) as typeof frame;
    } catch {
      return;
    }
    if (frame.commandId !== step.commandId) return;
    if (frame.t === 'command.records' && Array.isArray(frame.records)) step.records(frame.records);
    else if (frame.t === 'command.text' && typeof frame.text === 'string') step.text(frame.text);
  }

  sendBinary(frame: Buffer): void {
    this.step?.data(frame);
  }

  bufferedAmount(): number {
    return 0;
  }

  /** The service stopped the session under a running step without ending it (nothing more will come). */
  abandon(reason: string): void {
    const step = this.step;
    this.step = null;
    step?.end('failed', reason, 0);
  }
}
