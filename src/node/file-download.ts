/**
 * Writes a getfile transfer to disk on the analyst's side: bytes land in `NAME.part` in order, hashed
 * as they arrive; `NAME.part.json` remembers which device file they belong to, so a later run (after the
 * agent or this client restarted) resumes from the bytes already on disk instead of from zero. The file
 * gets its final name only once its size is the one the agent announced and its SHA-256 equals the one the
 * agent computed while reading; a byte past the announced size stops the transfer at once. A mismatch
 * throws DownloadMismatchError and deletes the partial file (it cannot be trusted to resume from).
 */
import { createHash, type Hash } from 'node:crypto';
import {
  closeSync,
  existsSync,
  fstatSync,
  openSync,
  readFileSync,
  readSync,
  renameSync,
  rmSync,
  write,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { stage } from './stage-trace.js';
import { join } from 'node:path';
import { z } from 'zod';

const partMeta = z.object({ deviceId: z.string(), remotePath: z.string(), size: z.number(), mtime: z.string() });
type PartMeta = z.infer<typeof partMeta>;

/** A safe local file name from a device path (either separator; no control characters, no `..`). */
export function localNameFor(remotePath: string): string {
  const base = remotePath.split(/[\\/]/).filter(Boolean).pop() ?? '';
  // eslint-disable-next-line no-control-regex
  const clean = base.replace(/[\u0000-\u001f\u007f-\u009f:*?"<>|]/g, '_').slice(0, 200);
  return clean === '' || clean === '.' || clean === '..' ? 'download' : clean;
}

/** The bytes received are not the file the agent described (size or SHA-256): the partial file is gone. */
export class DownloadMismatchError extends Error {
  override name = 'DownloadMismatchError';
}

export interface DownloadResult {
  file: string;
  sha256: string;
  size: number;
}

/** Received bytes queued for the disk beyond which queueData() asks its caller to stop reading the network. */
export const WRITE_QUEUE_HIGH_BYTES = 16 * 1024 * 1024;
/** Queued bytes below which a caller held back by WRITE_QUEUE_HIGH_BYTES is told to read again. */
export const WRITE_QUEUE_LOW_BYTES = 4 * 1024 * 1024;

export class FileDownload {
  readonly part: string;
  private readonly metaFile: string;
  private fd: number | null = null;
  private hash: Hash = createHash('sha256');
  private meta: PartMeta | null = null;
  /** Bytes on disk, in order, hashed. */
  written = 0;
  /** Bytes accepted (hashed), on disk or queued for it: `written` plus the write queue. */
  private received = 0;
  /** queueData()'s buffers not yet written, in file order; one write is in flight at a time. */
  private queue: { offset: number; payload: Buffer }[] = [];
  private queuedBytes = 0;
  private writing = false;
  private writeError: Error | null = null;
  private settled: (() => void)[] = [];
  private belowLow: (() => void)[] = [];
  /** Stage-trace key (the command id) of the transfer being written. */
  traceKey = '';
  total = 0;
  private startedAt = Date.now();
  private startedAtBytes = 0;
  private expectedSha: string | null = null;
  private expectedEndSize: number | null = null;
  /** Bytes that were on disk from an earlier run when this one started (0: a fresh download). */
  readonly resumedFrom: number;

  constructor(
    readonly outDir: string,
    readonly deviceId: string,
    readonly remotePath: string,
  ) {
    this.part = join(outDir, `${localNameFor(remotePath)}.part`);
    this.metaFile = `${this.part}.json`;
    this.loadPartial();
    this.resumedFrom = this.written;
  }

  /** Picks up bytes left by an earlier run for the same device file (re-hashing them). */
  private loadPartial(): void {
    if (!existsSync(this.part) || !existsSync(this.metaFile)) return;
    let meta: PartMeta;
    try {
      meta = partMeta.parse(JSON.parse(readFileSync(this.metaFile, 'utf8')));
    } catch {
      return;
    }
    if (meta.deviceId !== this.deviceId || meta.remotePath !== this.remotePath) return;
    const fd = openSync(this.part, 'r+');
    const size = fstatSync(fd).size;
    if (size > meta.size) {
      // Longer than the file it claims to be part of: not a partial download of it.
      closeSync(fd);
      this.reset();
      return;
    }
    const buf = Buffer.allocUnsafe(4 * 1024 * 1024);
    for (let pos = 0; pos < size;) {
      const n = readSync(fd, buf, 0, Math.min(buf.length, size - pos), pos);
      if (n === 0) break;
      this.hash.update(buf.subarray(0, n));
      pos += n;
    }
    this.fd = fd;
    this.meta = meta;
    this.written = size;
    this.received = size;
    this.total = meta.size;
  }

  /** Where the next transfer should start. */
  get resumeOffset(): number {
    return this.written;
  }

  /** The agent's first record: the file's identity. A different file than the partial one restarts. */
  onFileRecord(r: { size: number; mtime: string; offset: number }): 'ok' | 'restart' {
    if (this.meta && (this.meta.size !== r.size || this.meta.mtime !== r.mtime)) {
      this.reset();
      return 'restart';
    }
    if (r.offset !== this.written) return 'restart';
    this.total = r.size;
    this.meta = { deviceId: this.deviceId, remotePath: this.remotePath, size: r.size, mtime: r.mtime };
    if (this.fd === null) this.fd = openSync(this.part, 'w', 0o600);
    writeFileSync(this.metaFile, JSON.stringify(this.meta), { mode: 0o600 });
    this.startedAt = Date.now();
    this.startedAtBytes = this.written;
    return 'ok';
  }

  /** Writes and hashes `payload` at once (synchronous: the caller's event loop waits for the disk). */
  onData(offset: number, payload: Buffer): void {
    this.accept(offset, payload);
    let done = 0;
    while (done < payload.length) done += writeSync(this.fd!, payload, done, payload.length - done, offset + done);
    this.hash.update(payload);
    this.written += payload.length;
    this.received = this.written;
  }

  /**
   * Hashes `payload` and queues it for the disk, where it is written in the background (in order, one write
   * at a time) while the caller goes on receiving: the network and the disk overlap instead of taking turns.
   * Returns false when more than WRITE_QUEUE_HIGH_BYTES wait for the disk: the caller stops reading until
   * belowLowWater() resolves, so memory stays bounded whatever the disk's speed. `written` (the resume point)
   * only counts bytes the disk took; settle() waits for the queue before finish(), reset() or close().
   */
  queueData(offset: number, payload: Buffer): boolean {
    if (this.writeError) throw this.writeError;
    this.accept(offset, payload);
    stage(this.traceKey, 'cli.hash');
    this.hash.update(payload);
    stage(this.traceKey, 'cli.queued');
    this.received += payload.length;
    this.queue.push({ offset, payload });
    this.queuedBytes += payload.length;
    this.pump();
    return this.queuedBytes <= WRITE_QUEUE_HIGH_BYTES;
  }

  /** Resolves once the write queue is under WRITE_QUEUE_LOW_BYTES (or writing failed). */
  belowLowWater(): Promise<void> {
    if (this.queuedBytes < WRITE_QUEUE_LOW_BYTES || this.writeError) return Promise.resolve();
    return new Promise((resolve) => this.belowLow.push(resolve));
  }

  /** Waits until every queued byte is on disk; the write error that stopped the queue, if any. */
  async settle(): Promise<Error | null> {
    if (this.writing || this.queue.length > 0) await new Promise<void>((resolve) => this.settled.push(resolve));
    return this.writeError;
  }

  private pump(): void {
    if (this.writing) return;
    const next = this.queue[0];
    if (!next || this.fd === null || this.writeError) {
      this.wake();
      return;
    }
    this.writing = true;
    const fd = this.fd;
    let done = 0;
    const step = (): void => {
      write(fd, next.payload, done, next.payload.length - done, next.offset + done, (err, n) => {
        if (err) return this.stopWriting(err);
        done += n;
        if (done < next.payload.length) return step();
        stage(this.traceKey, 'cli.written');
        this.queue.shift();
        this.queuedBytes -= next.payload.length;
        this.written += next.payload.length;
        this.writing = false;
        this.pump();
      });
    };
    step();
  }

  private stopWriting(err: Error): void {
    this.writeError = err;
    this.writing = false;
    this.queue = [];
    this.queuedBytes = 0;
    this.wake();
  }

  /** Tells the waiters of belowLowWater() and settle() that the queue moved. */
  private wake(): void {
    if (this.queuedBytes < WRITE_QUEUE_LOW_BYTES || this.writeError) for (const r of this.belowLow.splice(0)) r();
    if (!this.writing && this.queue.length === 0) for (const r of this.settled.splice(0)) r();
  }

  /** Checks that `payload` is the next part of the announced file. */
  private accept(offset: number, payload: Buffer): void {
    if (this.fd === null) throw new Error('data before the file record');
    if (offset !== this.received)
      throw new Error(`transfer out of order: expected byte ${this.received}, got ${offset}`);
    if (this.received + payload.length > this.total)
      throw new DownloadMismatchError(`size mismatch: the device announced ${this.total} bytes and sent more`);
  }

  onEndRecord(r: { sha256: string; size: number }): void {
    this.expectedSha = r.sha256;
    this.expectedEndSize = r.size;
  }

  progress(): { bytes: number; total: number; rateBytesPerSec: number; etaSec?: number } {
    const secs = (Date.now() - this.startedAt) / 1000;
    const rate = secs > 0 ? (this.written - this.startedAtBytes) / secs : 0;
    return {
      bytes: this.written,
      total: this.total,
      rateBytesPerSec: rate,
      etaSec: rate > 0 ? (this.total - this.written) / rate : undefined,
    };
  }

  /** Verifies size and SHA-256 against the agent's, then gives the file its final name (read-only). */
  finish(): DownloadResult {
    if (this.writing || this.queue.length > 0) throw new Error('finish() while writes are queued: settle() first');
    if (this.writeError) throw this.writeError;
    if (this.fd === null) throw new Error('nothing was received');
    closeSync(this.fd);
    this.fd = null;
    const sha256 = this.hash.digest('hex');
    if (this.expectedSha === null) throw new Error("the transfer ended without the agent's hash");
    const announced = this.expectedEndSize ?? this.total;
    if (this.written !== this.total || announced !== this.total) {
      const received = this.written;
      this.reset();
      throw new DownloadMismatchError(
        `size mismatch: received ${received} bytes, the device announced ${this.total}${announced !== this.total ? ` then ${announced}` : ''}; the partial file was discarded`,
      );
    }
    const expected = this.expectedSha;
    if (sha256 !== expected) {
      this.reset();
      throw new DownloadMismatchError(
        `SHA-256 mismatch: the device computed ${expected}, the bytes received hash to ${sha256}; the partial file was discarded`,
      );
    }
    let file = join(this.outDir, localNameFor(this.remotePath));
    for (let i = 1; existsSync(file); i++) file = join(this.outDir, `${localNameFor(this.remotePath)}.${i}`);
    renameSync(this.part, file);
    rmSync(this.metaFile, { force: true });
    return { file, sha256, size: this.written };
  }

  /** Throws away the partial file (a different file, or a corrupt transfer). */
  reset(): void {
    if (this.fd !== null) closeSync(this.fd);
    this.fd = null;
    rmSync(this.part, { force: true });
    rmSync(this.metaFile, { force: true });
    this.hash = createHash('sha256');
    this.written = 0;
    this.received = 0;
    this.writeError = null;
    this.meta = null;
    this.expectedSha = null;
    this.expectedEndSize = null;
  }

  close(): void {
    if (this.fd !== null) closeSync(this.fd);
    this.fd = null;
  }
}
